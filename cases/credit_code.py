"""Unified social credit code (统一社会信用代码), GB 32100-2015, at intake: what is wrong, in words.

The rule itself (alphabet, check character) is ``ledger.credit_code``'s, which item 13 applies to
the creation record; this module says what is wrong with a code in a message and validates fields.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ledger.credit_code import (
    ALPHABET,
    CHARACTERS,
    CHECK,
    LENGTH,
    bad_characters,
    check_character,
    defect,
    is_valid,
    normalize,
)

__all__ = ["ALPHABET", "check_character", "is_valid", "normalize", "problem", "validate_credit_code"]


def problem(code: str) -> str | None:
    """None when the code is valid, else a message saying what is wrong."""
    wrong = defect(code)
    if wrong == LENGTH:
        return _("A unified social credit code has 18 characters.")
    if wrong == CHARACTERS:
        return _("The credit code contains characters not allowed: %(chars)s.") % {"chars": bad_characters(code)}
    if wrong == CHECK:
        return _("The credit code's check character is wrong.")
    return None


def validate_credit_code(value: str) -> None:
    message = problem(value)
    if message:
        raise ValidationError(message, code="invalid_credit_code")
