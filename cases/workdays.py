"""Working-day arithmetic under the official PRC calendar (statutory holidays and 调休).

This first version reads the ``chinesecalendar`` package directly; years it does not know are
counted on weekends only and the result is marked provisional.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import chinese_calendar
from django.utils import timezone

CALENDAR_VERSION = f"chinesecalendar-{getattr(chinese_calendar, '__version__', 'unknown')}"


@dataclass(frozen=True)
class Due:
    date: dt.date
    provisional: bool
    calendar_version: str


@lru_cache(maxsize=8192)
def _is_workday(day: dt.date) -> tuple[bool, bool]:
    """(is a working day, known from the official calendar)."""
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:
        return day.weekday() < 5, False


def add_working_days(start: dt.date, n: int) -> Due:
    """The n-th working day after ``start`` (``start`` itself is not counted)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    day, counted, provisional = start, 0, False
    while counted < n:
        day += dt.timedelta(days=1)
        workday, known = _is_workday(day)
        provisional = provisional or not known
        if workday:
            counted += 1
    return Due(day, provisional, CALENDAR_VERSION)


def due_date_for(received_at: dt.datetime, days: int) -> Due:
    return add_working_days(timezone.localtime(received_at).date(), days)
