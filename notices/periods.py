"""Notice periods: a month written ``2026-03`` or a quarter written ``2026-Q1`` (SPEC §8).

Periods are local (Asia/Shanghai) calendar spans; ``bounds`` gives the aware datetimes that
ledger queries compare against, half-open so that nothing on the boundary is counted twice.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from cases.errors import InvalidInput
from cases.models import local_midnight

MONTHLY = "monthly"
QUARTERLY = "quarterly"
FREQUENCIES = (MONTHLY, QUARTERLY)

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq](\d)$")
MIN_YEAR, MAX_YEAR = 2000, 2100


@dataclass(frozen=True, order=True)
class Period:
    year: int
    # Month number (1–12) for a monthly period, quarter number (1–4) for a quarterly one.
    index: int
    frequency: str

    @property
    def key(self) -> str:
        if self.frequency == QUARTERLY:
            return f"{self.year}-Q{self.index}"
        return f"{self.year}-{self.index:02d}"

    def __str__(self) -> str:
        return self.key

    @property
    def start(self) -> dt.date:
        month = self.index if self.frequency == MONTHLY else 3 * self.index - 2
        return dt.date(self.year, month, 1)

    @property
    def end(self) -> dt.date:
        """The last day of the period (inclusive)."""
        month = self.index if self.frequency == MONTHLY else 3 * self.index
        return dt.date(self.year, month, calendar.monthrange(self.year, month)[1])

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[local midnight of the first day, local midnight after the last day) as aware datetimes."""
        return local_midnight(self.start), local_midnight(self.end + dt.timedelta(days=1))

    def next(self) -> Period:
        last = 12 if self.frequency == MONTHLY else 4
        if self.index == last:
            return Period(self.year + 1, 1, self.frequency)
        return Period(self.year, self.index + 1, self.frequency)

    def previous(self) -> Period:
        last = 12 if self.frequency == MONTHLY else 4
        if self.index == 1:
            return Period(self.year - 1, last, self.frequency)
        return Period(self.year, self.index - 1, self.frequency)

    @property
    def label(self) -> str:
        if self.frequency == QUARTERLY:
            return _("Q%(q)d %(year)d") % {"q": self.index, "year": self.year}
        return _("%(month)d/%(year)d") % {"month": self.index, "year": self.year}


def parse(value) -> Period:
    """``2026-03`` or ``2026-Q1``; anything else, or a period that does not exist, is refused."""
    text = str(value or "").strip()
    month = _MONTH.match(text)
    quarter = _QUARTER.match(text)
    period = None
    if month and 1 <= int(month[2]) <= 12:
        period = Period(int(month[1]), int(month[2]), MONTHLY)
    elif quarter and 1 <= int(quarter[2]) <= 4:
        period = Period(int(quarter[1]), int(quarter[2]), QUARTERLY)
    if period is None or not MIN_YEAR <= period.year <= MAX_YEAR:
        raise InvalidInput(
            _("“%(value)s” is not a period: write a month as 2026-03 or a quarter as 2026-Q1.") % {"value": text[:20]},
            field="period",
        )
    return period


def in_year(year: int, frequency: str) -> list[Period]:
    count = 12 if frequency == MONTHLY else 4
    return [Period(year, index, frequency) for index in range(1, count + 1)]


def containing(day: dt.date, frequency: str) -> Period:
    index = day.month if frequency == MONTHLY else (day.month - 1) // 3 + 1
    return Period(day.year, index, frequency)


def last_ended(on: dt.date, frequency: str) -> Period:
    """The latest period whose last day is before ``on``."""
    return containing(on, frequency).previous()
