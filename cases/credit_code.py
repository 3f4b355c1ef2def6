"""Unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters from a 31-letter alphabet (digits and capitals without I, O, S, V, Z); the last one
is a check character: weights 3**i mod 31 over the first 17, check = (31 - sum mod 31) mod 31.
"""
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))


def check_character(first17: str) -> str:
    """The check character for the first 17 characters (which must be in the alphabet)."""
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalize(code: str) -> str:
    return (code or "").strip().upper()


def problem(code: str) -> str | None:
    """None when the code is valid, else a message saying what is wrong."""
    code = normalize(code)
    if len(code) != 18:
        return _("A unified social credit code has 18 characters.")
    bad = [ch for ch in code if ch not in _VALUE]
    if bad:
        return _("The credit code contains characters not allowed: %(chars)s.") % {"chars": "".join(bad)}
    if check_character(code[:17]) != code[17]:
        return _("The credit code's check character is wrong.")
    return None


def is_valid(code: str) -> bool:
    return problem(code) is None


def validate_credit_code(value: str) -> None:
    message = problem(value)
    if message:
        raise ValidationError(message, code="invalid_credit_code")
