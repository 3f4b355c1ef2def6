"""Working-day arithmetic under the official PRC calendar (statutory holidays and 调休).

The calendar lives in the database (``CalendarYear`` / ``CalendarDay``, seeded 2004–2026 from
the ``chinesecalendar`` package, later years entered by the city office). A year with no calendar
is counted provisionally — weekends and the statutory holidays the law fixes in advance
(``cases.statutory``) — and the result is marked provisional with the rule's label;
``cases.workcalendar`` recomputes such due dates, with a ledger entry, when the year is entered.

Each process keeps a snapshot of the calendar. Every public call costs one small query (the
list of years and their versions) to notice an edit made by another process; the days of a year
are re-read only when its version changes. Code that does many computations at once (the sweep)
takes one ``current_calendar()`` and calls its methods.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils import timezone

from . import statutory
from .statutory import StatutoryRule

ONE_DAY = dt.timedelta(days=1)
# Far enough for any deadline plus extensions; a loop past it means bad input, not a long wait.
MAX_SPAN_DAYS = 3 * 366
PROVISIONAL = "provisional"
# {year: the rule it was counted with provisionally (None: weekends only, the labels written
# before the statutory rule existed)}; see ``provisional_rules_of``.
ProvisionalRules = Mapping[int, StatutoryRule | None]


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


def provisional_label(year: int) -> str:
    """``2027.provisional-statutory-2025``: the year, counted provisionally, and by which rule."""
    rule = statutory.rule_for(year)
    return f"{year}.{PROVISIONAL}-{rule.label}" if rule else f"{year}.{PROVISIONAL}"


def provisional_rules_of(calendar_version: str) -> dict[int, StatutoryRule | None]:
    """The years a due date's label says were counted provisionally, each with its rule.

    ``2026.1+2027.provisional-statutory-2025`` → {2027: statutory-2025};
    ``2027.provisional`` (written before the statutory rule) → {2027: None}, weekends only.
    """
    rules: dict[int, StatutoryRule | None] = {}
    for part in (calendar_version or "").split("+"):
        year, _dot, version = part.partition(".")
        if not year.isdigit() or not version.startswith(PROVISIONAL):
            continue
        label = version[len(PROVISIONAL) + 1 :]
        rules[int(year)] = statutory.rule_by_label(label) if label else None
    return rules


def _off_weekdays(rule: StatutoryRule | None, year: int) -> frozenset[dt.date]:
    if rule is None:
        return frozenset()
    return frozenset(day for day in rule.holidays(year) if day.weekday() < 5)


class Calendar:
    """An immutable snapshot of the working-day calendar."""

    def __init__(self, years: dict[int, _Year]):
        self._years = years
        self._provisional: dict[tuple[int, str | None], frozenset[dt.date]] = {}

    def knows(self, year: int) -> bool:
        return year in self._years

    def entered_version(self, year: int) -> int | None:
        entry = self._years.get(year)
        return entry.version if entry else None

    def with_year(self, year: int, *, off_weekdays: frozenset[dt.date], on_weekends: frozenset[dt.date]) -> Calendar:
        """This calendar with ``year`` as given (to show what entering a year would change)."""
        entry = self._years.get(year)
        version = entry.version + 1 if entry else 1
        return Calendar({**self._years, year: _Year(("preview", version), version, off_weekdays, on_weekends)})

    def version_label(self, year: int) -> str:
        entry = self._years.get(year)
        return f"{year}.{entry.version}" if entry else provisional_label(year)

    def provisional_off(self, year: int, rule: StatutoryRule | None) -> frozenset[dt.date]:
        key = (year, rule.label if rule else None)
        if key not in self._provisional:
            self._provisional[key] = _off_weekdays(rule, year)
        return self._provisional[key]

    def is_workday(self, day: dt.date, *, provisional: ProvisionalRules | None = None) -> bool:
        """Whether ``day`` is a working day.

        A year not entered counts weekends and the statutory holidays of the rule in force;
        ``provisional`` counts the years it names as a due date's label recorded them instead
        (whether or not they have been entered since).
        """
        if provisional and day.year in provisional:
            return day.weekday() < 5 and day not in self.provisional_off(day.year, provisional[day.year])
        entry = self._years.get(day.year)
        if entry is None:
            return day.weekday() < 5 and day not in self.provisional_off(day.year, statutory.rule_for(day.year))
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

    def working_days_between(self, start: dt.date, end: dt.date, *, provisional: ProvisionalRules | None = None) -> int:
        """How many working days lie in (start, end]; 0 when end ≤ start."""
        count, day = 0, start
        while day < end:
            day += ONE_DAY
            if self.is_workday(day, provisional=provisional):
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
    keys = {
        year: (version, pk, updated_at)
        for year, version, pk, updated_at in CalendarYear.objects.values_list("year", "version", "pk", "updated_at")
    }
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
