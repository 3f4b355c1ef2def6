"""Items whose points follow from figures the assessors enter: 19 (reports) and 21 (survey)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction

from django.utils.translation import gettext as _

from cases.errors import InvalidInput

from .ladders import Rung, ladder


def _count(inputs: dict, key: str, label: str) -> int:
    value = inputs.get(key)
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput(_("%(label)s must be a whole number.") % {"label": label}, field=key) from None
    if number < 0 or str(value).strip() != str(number):
        raise InvalidInput(_("%(label)s must be a whole number, 0 or more.") % {"label": label}, field=key)
    return number


def report_points(inputs: dict, params: dict) -> tuple[Decimal, dict]:
    """Item 19: 0.5 per report submitted, at most 6 (信息报送)."""
    reports = _count(inputs, "reports", _("Reports submitted"))
    points = min(Decimal(params.get("per_report", "0.5")) * reports, Decimal(params.get("max", "6")))
    return points, {"reports": reports}


def _bounded_fraction(text: str) -> Fraction:
    """A decimal of sane size as an exact fraction: "Infinity", "NaN" or "1e-99999999" (which
    would build a number of a hundred million digits) are refused, not computed."""
    number = Decimal(text)
    if not number.is_finite() or abs(number.adjusted()) > 6 or len(text) > 20:
        raise ValueError(text)
    return Fraction(number)


def parse_rate(value) -> Fraction:
    """A satisfaction rate: "0.935", "93.5%" or "935/1000"; exact."""
    text = str(value if value is not None else "").strip()
    try:
        if text.endswith("%"):
            rate = _bounded_fraction(text[:-1].strip()) / 100
        elif "/" in text:
            num, den = (part.strip() for part in text.split("/", 1))
            if not (
                num.isascii() and den.isascii() and num.isdigit() and den.isdigit() and len(num) <= 9 and len(den) <= 9
            ):
                raise ValueError(text)
            rate = Fraction(int(num), int(den))
        else:
            rate = _bounded_fraction(text)
    except (InvalidOperation, ValueError, ZeroDivisionError, OverflowError):
        raise InvalidInput(
            _("The satisfaction rate must be written like 0.935, 935/1000 or 93.5%."), field="rate"
        ) from None
    if rate < 0 or rate > 1:
        raise InvalidInput(_("The satisfaction rate must lie between 0 and 100%."), field="rate")
    return rate


def survey_points(inputs: dict, params: dict) -> tuple[Decimal, dict, Rung]:
    """Item 21: the survey's satisfaction rate on the ladder; 0 when fewer enterprises took part
    than the county has 规模以上 enterprises (the method's participation rule)."""
    rate = parse_rate(inputs.get("rate"))
    participating = _count(inputs, "participating", _("Participating enterprises"))
    above_scale = _count(inputs, "above_scale", _("Enterprises above designated size"))
    clean = {"rate": str(inputs.get("rate")).strip(), "participating": participating, "above_scale": above_scale}
    if params.get("participation_rule", True) and participating < above_scale:
        return Decimal(params.get("below_points", "0")), clean, Rung(Decimal(0))
    rung = ladder(rate, params)
    return rung.points, clean, rung
