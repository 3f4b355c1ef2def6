"""The unified social credit code's check (统一社会信用代码, GB 32100-2015): a rule about a string.

Item 13 judges a creation record's credit code from the ledger alone, so the rule lives here, in
the bottom layer; intake (``cases.credit_code``) puts its messages and the form validator on top.

18 characters from a 31-letter alphabet (digits and capitals without I, O, S, V, Z); the last one
is a check character: weights 3**i mod 31 over the first 17, check = (31 - sum mod 31) mod 31.
"""

from __future__ import annotations

from operator import mul

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_IN_ALPHABET = frozenset(ALPHABET)
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))

# What can be wrong with a code, in the order it is checked.
LENGTH, CHARACTERS, CHECK = "length", "characters", "check"


def check_character(first17: str) -> str:
    """The check character for the first 17 characters (which must be in the alphabet)."""
    if len(first17) != 17:
        raise ValueError("the check character is of the first 17 characters")
    total = sum(map(mul, map(_VALUE.__getitem__, first17), WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def normalize(code: str) -> str:
    return (code or "").strip().upper()


def bad_characters(code: str) -> str:
    """The characters of ``code`` outside the alphabet, in order."""
    return "".join(ch for ch in normalize(code) if ch not in _VALUE)


def defect(code: str) -> str | None:
    """None when the code is valid, else what is wrong: ``LENGTH``, ``CHARACTERS`` or ``CHECK``."""
    code = normalize(code)
    if len(code) != 18:
        return LENGTH
    if not _IN_ALPHABET.issuperset(code):  # (``bad_characters`` says which)
        return CHARACTERS
    if check_character(code[:17]) != code[17]:
        return CHECK
    return None


def is_valid(code: str) -> bool:
    return defect(code) is None
