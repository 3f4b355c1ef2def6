"""The input boundary: what text, dates, years and ids a user may send, in one place.

Forms, API serializers, the import row parser and the URL/query checks all ask these functions,
so a value refused on one path is refused on every path with the same Chinese message.

- Text: no NUL, no control characters (C0, DEL, C1), no lone surrogates or non-characters. Long
  text (descriptions, results, reasons, notes) may hold tab and line breaks; a single-line field
  (names, codes, references) may not. Such characters break PostgreSQL (NUL), the XLSX writer
  and every reader's screen, and no one types them on purpose.
- Dates the law counts: a receipt lies in [2000-01-01, now]. Years asked about (scores,
  notices) lie in [2000, next year]; a filter's day in [2000-01-01, 2099-12-31].
- Ids: ASCII digits only, at most the largest 64-bit key; anything else is "no such object".
"""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext as _
from rest_framework import serializers

# -- text ------------------------------------------------------------------------------------

# C0 controls, DEL, C1 controls, UTF-16 surrogates (only reachable through JSON "\ud800"
# escapes) and the two non-characters U+FFFE/U+FFFF.
_NEVER = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff"
_FORBIDDEN_IN_TEXT = re.compile(f"[{_NEVER}]")
_FORBIDDEN_IN_LINE = re.compile(f"[{_NEVER}\t\n\r]")
# In a URL: the C0 controls and DEL (C1 characters are refused where a field stores text).
_FORBIDDEN_IN_URL = re.compile("[\x00-\x1f\x7f]")


def _describe(char: str) -> str:
    names = {"\x00": "NUL", "\x1b": "ESC", "\t": _("tab"), "\n": _("line break"), "\r": _("line break")}
    return names.get(char, f"U+{ord(char):04X}")


def text_problem(value, *, multiline: bool = False) -> str | None:
    """Why ``value`` cannot be stored as text, or None. Non-strings are the caller's business."""
    if not isinstance(value, str):
        return None
    match = (_FORBIDDEN_IN_TEXT if multiline else _FORBIDDEN_IN_LINE).search(value)
    if match is None:
        return None
    return _("Contains a control character (%(char)s at position %(pos)d); remove it and try again.") % {
        "char": _describe(match.group()),
        "pos": match.start() + 1,
    }


def has_control_characters(value: str) -> bool:
    """For URL paths and query strings: a C0 control character or DEL."""
    return bool(_FORBIDDEN_IN_URL.search(value))


# The same rules as patterns, for the OpenAPI schema (drf-spectacular documents a RegexValidator's
# pattern), so that the schema tells clients what the server refuses.
LINE_PATTERN = r"\A[^\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]*\Z"
TEXT_PATTERN = r"\A[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]*\Z"
# What config.middleware lets through in a query parameter, for the schema.
ECMA_URL_PATTERN = "^[^\\u0000-\\u001f\\u007f]*$"


@deconstructible
class NoControlCharacters(RegexValidator):
    """Django (and DRF) validator: ``NoControlCharacters()`` for a line, ``(multiline=True)`` for text.

    A RegexValidator so that the API schema shows its pattern; the check itself is ``text_problem``
    (its message names the character and where it is)."""

    code = "control_character"

    def __init__(self, *, multiline: bool = False):
        self.multiline = multiline
        super().__init__(TEXT_PATTERN if multiline else LINE_PATTERN, code=self.code)

    def __call__(self, value) -> None:
        problem = text_problem(value, multiline=self.multiline)
        if problem:
            raise ValidationError(problem, code=self.code)

    def __eq__(self, other) -> bool:
        return isinstance(other, NoControlCharacters) and other.multiline == self.multiline


single_line = NoControlCharacters()
multiline = NoControlCharacters(multiline=True)


def guard_fields(fields, *, long_text: set[str] | frozenset[str] = frozenset()) -> None:
    """Add the text rule to every writable text field of a form's or serializer's ``fields``
    (a name → field mapping); the names in ``long_text`` may hold tab and line breaks."""
    for name, field in fields.items():
        if getattr(field, "read_only", False) or not _is_text_field(field):
            continue
        validator = multiline if name in long_text or _is_textarea(field) else single_line
        if validator not in field.validators:
            field.validators.append(validator)


# Serializer fields by these names hold free text (forms say so with a Textarea).
LONG_TEXT = frozenset({"description", "reason", "result", "policy_basis", "redirect_to", "note", "covering_text"})


class TextRulesForm:
    """Form mixin: every text field refuses control characters (Textarea fields allow line breaks)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        guard_fields(self.fields)


class TextRulesSerializer:
    """Serializer mixin: every writable text field refuses control characters (``LONG_TEXT``
    names allow tab and line breaks)."""

    def get_fields(self):
        fields = super().get_fields()
        guard_fields(fields, long_text=LONG_TEXT)
        return fields


def _is_text_field(field) -> bool:
    return isinstance(field, forms.CharField | serializers.CharField) and not isinstance(field, serializers.ChoiceField)


def _is_textarea(field) -> bool:
    return isinstance(getattr(field, "widget", None), forms.Textarea)


# -- dates and years -------------------------------------------------------------------------

EARLIEST_DAY = dt.date(2000, 1, 1)
FIRST_YEAR = EARLIEST_DAY.year


def last_year(*, today: dt.date) -> int:
    """The latest year anyone may ask about: next year (a cutoff or notice just past new year)."""
    return today.year + 1


def local_today(now: dt.datetime | None = None) -> dt.date:
    return timezone.localdate(now or timezone.now())


# A moment on or after the earliest day in every time zone (UTC offsets lie within ±14 hours).
_SURELY_AFTER_EARLIEST_DAY = dt.datetime.combine(EARLIEST_DAY + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def receipt_problem(received_at: dt.datetime, *, now: dt.datetime) -> str | None:
    """The one rule for a receipt time (API, intake form, import): in [2000-01-01, now]."""
    if received_at > now:
        return _("The time of receipt cannot be in the future.")
    # (Only a time near the earliest day is turned into a local date: an import checks every row.)
    if received_at < _SURELY_AFTER_EARLIEST_DAY and timezone.localtime(received_at).date() < EARLIEST_DAY:
        return _("The time of receipt cannot be before %(day)s.") % {"day": EARLIEST_DAY.isoformat()}
    return None


def year_problem(year: int, *, today: dt.date) -> str | None:
    """A year the app can count: 2000 to next year."""
    if FIRST_YEAR <= year <= last_year(today=today):
        return None
    return _("The year must lie between %(first)d and %(last)d.") % {
        "first": FIRST_YEAR,
        "last": last_year(today=today),
    }


# A filter bound is a day of this century: wide enough for any question about the ledger, narrow
# enough that date arithmetic on it never leaves the calendar, and a range the API schema can state.
LATEST_FILTER_DAY = dt.date(2099, 12, 31)
ECMA_FILTER_DAY_PATTERN = "^(20[0-9]{2}-[0-9]{2}-[0-9]{2})?$"


def day_problem(day: dt.date) -> str | None:
    """A day used as a filter bound: from 2000-01-01 to 2099-12-31."""
    if EARLIEST_DAY <= day <= LATEST_FILTER_DAY:
        return None
    return _("The date must lie between %(first)s and %(last)s.") % {
        "first": EARLIEST_DAY.isoformat(),
        "last": LATEST_FILTER_DAY.isoformat(),
    }


class BoundedDateField(forms.DateField):
    """A date form field (filters) that refuses days outside ``day_problem``'s range."""

    def validate(self, value) -> None:
        super().validate(value)
        if value is not None and (problem := day_problem(value)):
            raise ValidationError(problem, code="out_of_range")


# -- ids -------------------------------------------------------------------------------------

MAX_ID = 2**63 - 1
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(value) -> int | None:
    """``value`` as a primary key: ASCII digits only (not "³", "٣" or "1.0"), 1 to 2**63-1."""
    text = str(value) if value is not None else ""
    if not _ASCII_DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None
