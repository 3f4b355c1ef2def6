"""JSON text from Python values, by the standard library's C encoder made once per form.

``json.dumps(value, ensure_ascii=False, sort_keys=…, separators=…)`` builds an encoder at every
call; a bulk import writes several JSON values a row (each ledger entry's hashed text, every JSON
column of its COPY), so each form's encoder is made once here. The text is ``json.dumps``'s, byte
for byte (``tests/ledger/test_canonical_text.py``). No check for circular structures: no value
written is one, and Python's recursion limit would stop one.
"""

from __future__ import annotations

import json
from collections.abc import Callable

_MAKE_ENCODER = getattr(json.encoder, "c_make_encoder", None)  # (None without the C accelerator)


def _not_serializable(value):
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_CONTAINERS = (dict, list, tuple)  # (a tuple of types: isinstance's fast path, unlike a union)


class _Encoder:
    """``json.dumps`` of one form, as a callable object, not a closure: psycopg caches a dumper made
    for a callable by its identity, but makes a new one, and warns, for every closure it is given
    (``tables._jsonb`` goes to it with every COPY)."""

    __slots__ = ("_made", "_options")

    def __init__(self, made, options: dict) -> None:
        self._made = made
        self._options = options

    def __call__(self, value) -> str:
        if self._made is None or not isinstance(value, _CONTAINERS):
            return json.dumps(value, ensure_ascii=False, **self._options)  # (the encoder takes containers)
        return "".join(self._made(value, 0))


def encoder(*, sort_keys: bool, separators: tuple[str, str]) -> Callable[[object], str]:
    """``json.dumps(value, ensure_ascii=False, sort_keys=sort_keys, separators=separators)``."""
    item_separator, key_separator = separators
    made = (
        _MAKE_ENCODER(
            None,
            _not_serializable,
            json.encoder.encode_basestring,
            None,
            key_separator,
            item_separator,
            sort_keys,
            False,
            True,
        )
        if _MAKE_ENCODER is not None
        else None
    )
    return _Encoder(made, {"sort_keys": sort_keys, "separators": separators})
