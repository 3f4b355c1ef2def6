"""Exact arithmetic for the scoresheet: ladders on fractions, decimal strings for the JSON.

Rates are never rounded before a ladder is applied: 0.8499… is not 85%. Strings are produced
only for display and the JSON, rounded half-up to 4 places.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import overload

# The display rate is shared with the notices (cases.rates); items 13 and 15 take it from here.
from cases.rates import rate_str  # noqa: F401

HALF = Decimal("0.5")


@dataclass(frozen=True)
class Rung:
    points: Decimal
    rule_gap: bool = False


def ladder(rate: Fraction, params: dict) -> Rung:
    """Points for an exact rate under a ladder ``{"ladder": [[threshold, points], …], "gap_from",
    "gap_points", "below_points"}``: the first threshold the rate reaches wins; between
    ``gap_from`` and the lowest threshold lies the range the 2012 text leaves unscored."""
    for threshold, points in params["ladder"]:
        if rate >= Fraction(Decimal(threshold)):
            return Rung(Decimal(points))
    gap_from = params.get("gap_from")
    if gap_from is not None and rate >= Fraction(Decimal(gap_from)):
        return Rung(Decimal(params["gap_points"]), rule_gap=True)
    return Rung(Decimal(params.get("below_points", "0")))


@overload
def points_str(value: Decimal) -> str: ...
@overload
def points_str(value: Decimal | None) -> str | None: ...
def points_str(value: Decimal | None) -> str | None:
    """ "4", "5.5", "88.5": no trailing zeros, never an exponent."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def fraction_or_none(numerator: int, denominator: int) -> Fraction | None:
    return Fraction(numerator, denominator) if denominator else None


def parse_points(value) -> Decimal:
    """A points value from a form or JSON body; raises ValueError for anything not a finite number."""
    if isinstance(value, bool) or value is None:
        raise ValueError("not a number")
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        raise ValueError("not a number") from None
    if not number.is_finite():
        raise ValueError("not a number")
    return number


def is_half_step(value: Decimal) -> bool:
    return (value / HALF) == (value / HALF).to_integral_value()
