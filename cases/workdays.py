"""Working-day arithmetic under the official PRC calendar (statutory holidays and 调休).

The calendar lives in the database (``CalendarYear`` / ``CalendarDay``, seeded 2004–2026 from
the ``chinesecalendar`` package, later years entered in the admin). A year with no calendar is
counted on weekends only and the result is marked provisional; ``cases.workcalendar`` recomputes
such due dates, with a ledger entry, when the year is entered.

Each process keeps a snapshot of the calendar. Every public call costs one small query (the
list of years and their versions) to notice an edit made by another process; the days of a year
are re-read only when its version changes. Code that does many computations at once (the sweep)
takes one ``current_calendar()`` and calls its methods.
"""
from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

from django.utils import timezone

ONE_DAY = dt.timedelta(days=1)
# Far enough for any deadline plus extensions; a loop past it means bad input, not a long wait.
MAX_SPAN_DAYS = 3 * 366


@dataclass(frozen=True)
class Due:
    date: dt.date
    provisional: bool
    calendar_version: str


@dataclass(frozen=True)
class _Year:
    key: tuple  # (version, pk, updated_at): changes whenever the year's rows change
    version: int
    off_weekdays: frozenset[dt.date]  # statutory holidays falling Monday–Friday
    on_weekends: frozenset[dt.date]  # make-up working days (调休) falling on a weekend


class Calendar:
    """An immutable snapshot of the working-day calendar."""

    def __init__(self, years: dict[int, _Year]):
        self._years = years

    def knows(self, year: int) -> bool:
        return year in self._years

    def version_label(self, year: int, *, unknown: frozenset[int] = frozenset()) -> str:
        entry = self._years.get(year)
        if entry is None or year in unknown:
            return f"{year}.provisional"
        return f"{year}.{entry.version}"

    def is_workday(self, day: dt.date, *, unknown: frozenset[int] = frozenset()) -> bool:
        """Whether ``day`` is a working day; years in ``unknown`` (or not entered) count weekends only."""
        entry = self._years.get(day.year)
        if entry is None or day.year in unknown:
            return day.weekday() < 5
        if day.weekday() < 5:
            return day not in entry.off_weekdays
        return day in entry.on_weekends

    def add_working_days(self, start: dt.date, n: int) -> Due:
        """The n-th working day after ``start`` (``start`` itself is not counted)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        day, counted, years = start, 0, []
        limit = start + dt.timedelta(days=MAX_SPAN_DAYS + 2 * n)
        while counted < n:
            day += ONE_DAY
            if day > limit:
                raise ValueError("no working day found; the calendar looks wrong")
            if not years or years[-1] != day.year:
                years.append(day.year)
            if self.is_workday(day):
                counted += 1
        provisional = any(not self.knows(y) for y in years)
        return Due(day, provisional, "+".join(self.version_label(y) for y in years)[:64])

    def working_days_between(self, start: dt.date, end: dt.date, *, unknown: frozenset[int] = frozenset()) -> int:
        """How many working days lie in (start, end]; 0 when end ≤ start."""
        count, day = 0, start
        while day < end:
            day += ONE_DAY
            if self.is_workday(day, unknown=unknown):
                count += 1
        return count

    def workday_back(self, day: dt.date, k: int) -> dt.date:
        """The k-th working day counting back from ``day`` (``day`` itself counts when it is one).

        "At least k working days have passed since D" — (D, day] holds k working days — is
        exactly ``D < workday_back(day, k)``: the sweep turns it into a date bound for an index.
        """
        if k < 1:
            raise ValueError("k must be at least 1")
        found = 0
        limit = day - dt.timedelta(days=MAX_SPAN_DAYS + 2 * k)
        while True:
            if self.is_workday(day):
                found += 1
                if found == k:
                    return day
            day -= ONE_DAY
            if day < limit:
                raise ValueError("no working day found; the calendar looks wrong")


_lock = threading.Lock()
_snapshot: Calendar = Calendar({})


def current_calendar() -> Calendar:
    """The calendar as the database has it now (one query when nothing changed)."""
    from .models import CalendarDay, CalendarYear

    global _snapshot
    keys = {year: (version, pk, updated_at) for year, version, pk, updated_at in
            CalendarYear.objects.values_list("year", "version", "pk", "updated_at")}
    snapshot = _snapshot
    if {y: e.key for y, e in snapshot._years.items()} == keys:
        return snapshot
    with _lock:
        years: dict[int, _Year] = {}
        changed = [y for y, key in keys.items() if y not in snapshot._years or snapshot._years[y].key != key]
        for year in keys:
            if year not in changed:
                years[year] = snapshot._years[year]
        if changed:
            off: dict[int, set] = {y: set() for y in changed}
            on: dict[int, set] = {y: set() for y in changed}
            rows = CalendarDay.objects.filter(calendar__year__in=changed).values_list("date", "is_workday")
            for day, workday in rows.iterator(chunk_size=4000):
                if day.weekday() < 5 and not workday:
                    off[day.year].add(day)
                elif day.weekday() >= 5 and workday:
                    on[day.year].add(day)
            for year in changed:
                years[year] = _Year(keys[year], keys[year][0], frozenset(off[year]), frozenset(on[year]))
        _snapshot = Calendar(years)
        return _snapshot


def add_working_days(start: dt.date, n: int) -> Due:
    """The n-th working day after ``start`` (``start`` itself is not counted)."""
    return current_calendar().add_working_days(start, n)


def due_date_for(received_at: dt.datetime, days: int) -> Due:
    """The due date for a case received at ``received_at``: N working days after the local day."""
    return add_working_days(timezone.localtime(received_at).date(), days)


def is_workday(day: dt.date) -> bool:
    return current_calendar().is_workday(day)
