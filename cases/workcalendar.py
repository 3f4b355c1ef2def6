"""Entering a year of the official working-day calendar, and what follows from it.

A year is entered as the State Council publishes it: the statutory holidays (date ranges with a
name) and the make-up working days (调休). Everything else follows the weekend rule. Entering a
year that already has a calendar with different days is refused unless it is an explicit
revision; either way, every due date counted on that year (provisionally, or on the previous
version) is recomputed in the same transaction, each with a ledger entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import services, statutory, workdays
from .errors import InvalidInput
from .models import OPEN_STATES, CalendarDay, CalendarYear, Case

FIRST_SEEDED_YEAR, LAST_SEEDED_YEAR = 2004, 2026


@dataclass(frozen=True)
class DayRow:
    date: dt.date
    is_workday: bool
    kind: str  # workday / weekend / holiday / makeup
    name: str = ""


@dataclass
class YearSchedule:
    """A year as published: holidays {date: name} and make-up working days."""

    year: int
    holidays: dict[dt.date, str] = field(default_factory=dict)
    makeup_days: set[dt.date] = field(default_factory=set)

    def check(self) -> None:
        """Contradictions inside the schedule itself are refused with the dates named."""
        errors = []
        for day in sorted(set(self.holidays) | self.makeup_days):
            if day.year != self.year:
                errors.append(_("%(day)s is not in %(year)d.") % {"day": day.isoformat(), "year": self.year})
        both = sorted(set(self.holidays) & self.makeup_days)
        for day in both:
            errors.append(
                _("%(day)s is listed both as a holiday and as a make-up working day.") % {"day": day.isoformat()}
            )
        for day in sorted(self.makeup_days - set(both)):
            if day.year == self.year and day.weekday() < 5:
                errors.append(
                    _("%(day)s is a weekday and already a working day; a make-up working day falls on a weekend.")
                    % {"day": day.isoformat()}
                )
        if errors:
            raise InvalidInput(" ".join(errors), field="days")

    def rows(self) -> list[DayRow]:
        day, end, rows = dt.date(self.year, 1, 1), dt.date(self.year, 12, 31), []
        while day <= end:
            if day in self.holidays:
                rows.append(DayRow(day, False, "holiday", self.holidays[day][:50]))
            elif day in self.makeup_days:
                rows.append(DayRow(day, True, "makeup", ""))
            elif day.weekday() >= 5:
                rows.append(DayRow(day, False, "weekend"))
            else:
                rows.append(DayRow(day, True, "workday"))
            day += dt.timedelta(days=1)
        return rows


def from_chinesecalendar(year: int) -> YearSchedule:
    """The year as the ``chinesecalendar`` package knows it, read day by day with ``is_workday``.

    (``get_workdays(include_weekends=False)`` would drop make-up Saturdays: not used.)
    """
    import chinese_calendar

    schedule = YearSchedule(year)
    day = dt.date(year, 1, 1)
    while day.year == year:
        try:
            workday = chinese_calendar.is_workday(day)
        except NotImplementedError:
            raise InvalidInput(
                _("The chinesecalendar package has no data for %(year)d.") % {"year": year}, field="year"
            ) from None
        if day.weekday() < 5 and not workday:
            _on_holiday, name = chinese_calendar.get_holiday_detail(day)
            schedule.holidays[day] = chinese_holiday_name(name)
        elif day.weekday() >= 5 and workday:
            schedule.makeup_days.add(day)
        elif day.weekday() >= 5:
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
            if on_holiday and name:
                # A holiday over a weekend: off either way, but keep its name for the admin.
                schedule.holidays[day] = chinese_holiday_name(name)
        day += dt.timedelta(days=1)
    return schedule


# The chinesecalendar package names its holidays in English (its Holiday enum's values); the
# calendar stores and shows the official Chinese names.
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


def chinese_holiday_name(name: str | None) -> str:
    """The Chinese name of a chinesecalendar holiday; 节假日 when the package gives none."""
    if not name:
        return "节假日"
    return HOLIDAY_NAMES.get(name, name)


def chinesecalendar_source() -> str:
    import chinese_calendar

    return f"chinesecalendar {getattr(chinese_calendar, '__version__', '')}".strip()


def parse_dates(text: str, *, field_name: str) -> list[dt.date]:
    """Dates and ranges, one per line or comma-separated: ``2027-01-01`` or ``2027-02-05..2027-02-11``.

    A range may carry a name after a space: ``2027-10-01..2027-10-07 国庆节``.
    """
    return [day for day, _name in parse_named_dates(text, field_name=field_name)]


def parse_named_dates(text: str, *, field_name: str) -> list[tuple[dt.date, str]]:
    result: list[tuple[dt.date, str]] = []
    for raw in (text or "").replace("，", ",").replace(",", "\n").splitlines():
        item = raw.strip()
        if not item:
            continue
        span, _sep, name = item.partition(" ")
        start_text, _dots, end_text = span.partition("..")
        try:
            start = dt.date.fromisoformat(start_text.strip())
            end = dt.date.fromisoformat(end_text.strip()) if end_text else start
        except ValueError:
            raise InvalidInput(
                _("“%(item)s” is not a date (YYYY-MM-DD) or a range (YYYY-MM-DD..YYYY-MM-DD).") % {"item": item},
                field=field_name,
            ) from None
        if end < start or (end - start).days > 60:
            raise InvalidInput(_("The range “%(item)s” is not valid.") % {"item": item}, field=field_name)
        day = start
        while day <= end:
            result.append((day, name.strip()))
            day += dt.timedelta(days=1)
    return result


def schedule_from_text(year: int, holidays: str, makeup_days: str) -> YearSchedule:
    """A schedule from the notice's dates as typed: holiday ranges with names, make-up days."""
    schedule = YearSchedule(year)
    for day, name in parse_named_dates(holidays, field_name="holidays"):
        schedule.holidays[day] = name or _("holiday")
    schedule.makeup_days = set(parse_dates(makeup_days, field_name="makeup_days"))
    return schedule


def differences(existing, rows: list[DayRow]) -> tuple[list[tuple[DayRow, bool]], list[DayRow]]:
    """(rows contradicting the stored days, with the stored value; rows not stored at all)."""
    stored = dict(CalendarDay.objects.filter(calendar=existing).values_list("date", "is_workday"))
    conflicts = [(r, stored[r.date]) for r in rows if r.date in stored and stored[r.date] != r.is_workday]
    return conflicts, [r for r in rows if r.date not in stored]


def conflict_message(existing, conflicts) -> str:
    shown = ", ".join(
        f"{row.date.isoformat()} ({_('working day') if was_workday else _('day off')})"
        for row, was_workday in conflicts[:10]
    )
    return _(
        "The calendar of %(year)d (version %(version)d) already says otherwise for %(days)s. "
        "Revise the year explicitly to replace it."
    ) % {"year": existing.year, "version": existing.version, "days": shown}


def schedule_of(existing) -> YearSchedule:
    """The stored year as a schedule (for editing it in the admin)."""
    schedule = YearSchedule(existing.year)
    for day in CalendarDay.objects.filter(calendar=existing).exclude(kind__in=["workday", "weekend"]):
        if day.kind == "makeup":
            schedule.makeup_days.add(day.date)
        else:
            schedule.holidays[day.date] = day.name
    return schedule


def schedule_text(schedule: YearSchedule) -> tuple[str, str]:
    """(holidays, make-up days) as the admin form shows them: ranges with names, one per line."""
    lines, run = [], []
    for day in sorted(schedule.holidays):
        name = schedule.holidays[day]
        if run and (day - run[-1][0]).days == 1 and run[-1][1] == name:
            run.append((day, name))
            continue
        if run:
            lines.append(run)
        run = [(day, name)]
    if run:
        lines.append(run)
    holiday_text = "\n".join(
        (f"{r[0][0].isoformat()}..{r[-1][0].isoformat()}" if len(r) > 1 else r[0][0].isoformat())
        + (f" {r[0][1]}" if r[0][1] else "")
        for r in lines
    )
    return holiday_text, "\n".join(d.isoformat() for d in sorted(schedule.makeup_days))


@dataclass(frozen=True)
class DayChange:
    """A date the entered schedule counts differently from the calendar as it stands."""

    date: dt.date
    was_workday: bool
    was_kind: str  # workday / weekend / holiday / makeup
    was_name: str
    row: DayRow

    @property
    def statutory_now_workday(self) -> bool:
        """The schedule makes a statutory holiday of the provisional rule a working day."""
        return self.was_kind == "holiday" and self.row.is_workday


@dataclass
class YearPlan:
    """What entering ``schedule`` would do, before anything is written: the days that differ
    from the calendar as it stands (provisional, or the stored version) and the open cases whose
    due dates would be counted again, with their new dates."""

    schedule: YearSchedule
    rows: list[DayRow]
    existing: object | None  # the stored CalendarYear, if any
    provisional_rule: statutory.StatutoryRule | None
    day_changes: list[DayChange]
    conflicts: list[tuple[DayRow, bool]]  # against a stored year: (row, stored is_workday)
    missing: list[DayRow]  # dates a stored year lacks
    due_changes: list  # of services.RecomputedDue

    @property
    def unchanged(self) -> bool:
        return self.existing is not None and not self.conflicts and not self.missing

    @property
    def moved(self) -> list:
        return [c for c in self.due_changes if c.moved]

    def fingerprint(self) -> str:
        """Identifies the schedule previewed, so a confirmation saves exactly what was shown."""
        text = "|".join(f"{r.date.isoformat()}:{r.kind}:{r.name}" for r in self.rows if r.kind in ("holiday", "makeup"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def _days_as_they_stand(year: int, existing) -> dict[dt.date, tuple[bool, str, str]]:
    """{date: (is_workday, kind, name)} for every date of ``year`` as the calendar counts it now."""
    if existing is not None:
        return {
            d: (w, k, n)
            for d, w, k, n in CalendarDay.objects.filter(calendar=existing).values_list(
                "date", "is_workday", "kind", "name"
            )
        }
    statutory_days = statutory.holidays(year)
    days, day = {}, dt.date(year, 1, 1)
    while day.year == year:
        if day in statutory_days:
            days[day] = (False, "holiday", statutory_days[day])
        elif day.weekday() >= 5:
            days[day] = (False, "weekend", "")
        else:
            days[day] = (True, "workday", "")
        day += dt.timedelta(days=1)
    return days


def _affected_cases(year: int, *, lock: bool):
    """Open cases whose due date was counted on ``year`` (provisionally or on a stored version)."""
    qs = Case.objects.filter(state__in=OPEN_STATES, calendar_version__contains=f"{year}.", due_date__isnull=False)
    if lock:
        qs = qs.select_for_update()
    return list(
        qs.only(
            "pk",
            "number",
            "region_id",
            "department_id",
            "received_at",
            "due_date",
            "due_date_provisional",
            "calendar_version",
        ).order_by("pk")
    )


def _allowances(cases, before: workdays.Calendar) -> dict[int, int]:
    """Each case's whole allowance, counted on the calendar its due date came from."""
    return {
        c.pk: before.working_days_between(
            c.received_on, c.due_date, provisional=workdays.provisional_rules_of(c.calendar_version)
        )
        for c in cases
    }


def plan_year(schedule: YearSchedule) -> YearPlan:
    """Compare ``schedule`` with the calendar as it stands, and count the due dates it would move.

    Reads only; ``enter_year`` writes. Raises InvalidInput when the schedule contradicts itself.
    """
    schedule.check()
    rows = schedule.rows()
    existing = CalendarYear.objects.filter(year=schedule.year).first()
    standing = _days_as_they_stand(schedule.year, existing)
    day_changes = [
        DayChange(r.date, *standing[r.date], row=r)
        for r in rows
        if r.date in standing and standing[r.date][0] != r.is_workday
    ]
    conflicts, missing = differences(existing, rows) if existing is not None else ([], [])
    before = workdays.current_calendar()
    after = before.with_year(
        schedule.year,
        off_weekdays=frozenset(r.date for r in rows if not r.is_workday and r.date.weekday() < 5),
        on_weekends=frozenset(r.date for r in rows if r.is_workday and r.date.weekday() >= 5),
    )
    cases = _affected_cases(schedule.year, lock=False)
    allowances = _allowances(cases, before)
    due_changes = []
    for case in cases:
        if allowances[case.pk] < 1:
            continue
        due = after.add_working_days(case.received_on, allowances[case.pk])
        due_changes.append(
            services.RecomputedDue(
                case.pk,
                case.number,
                case.region_id,
                case.department_id,
                allowances[case.pk],
                case.due_date,
                due.date,
                due.provisional,
            )
        )
    return YearPlan(
        schedule,
        rows,
        existing,
        None if existing else statutory.rule_for(schedule.year),
        day_changes,
        conflicts,
        missing,
        due_changes,
    )


def enter_year(
    schedule: YearSchedule,
    *,
    by=None,
    source: str,
    reference: str = "",
    revise: bool = False,
    now: dt.datetime | None = None,
) -> tuple[object, int]:
    """Store a year's calendar and recompute the open cases' due dates counted on it.

    Returns (the CalendarYear, number of cases whose due date was recomputed). A year that
    already has a calendar is left alone when the days agree; when they differ it is refused
    unless ``revise`` (the version is then bumped). All or nothing: the days, every recomputed
    due date and its ledger entry commit together; each affected department is told after
    commit (``cases.signals.due_dates_recomputed``). Closed cases keep the date they were
    closed against.
    """
    now = now or timezone.now()
    schedule.check()
    rows = schedule.rows()
    with transaction.atomic():
        existing = CalendarYear.objects.select_for_update().filter(year=schedule.year).first()
        if existing is not None:
            conflicts, missing = differences(existing, rows)
            if not conflicts and not missing:
                return existing, 0
            if conflicts and not revise:
                raise InvalidInput(conflict_message(existing, conflicts), field="days")
        # Count each affected case's working days on the calendar it was computed with (the
        # provisional rule its label names, or the year's previous version) before the new days go in.
        affected = _affected_cases(schedule.year, lock=True)
        counts = _allowances(affected, workdays.current_calendar())

        if existing is None:
            year = CalendarYear.objects.create(
                year=schedule.year,
                version=1,
                source=source[:100],
                reference=reference[:200],
                entered_by=by if by is not None and by.pk else None,
                updated_at=now,
            )
        else:
            year = existing
            year.version += 1
            year.source, year.reference, year.updated_at = source[:100], reference[:200] or year.reference, now
            year.entered_by = by if by is not None and by.pk else year.entered_by
            year.save()
            CalendarDay.objects.filter(calendar=year).delete()
        CalendarDay.objects.bulk_create(
            [CalendarDay(date=r.date, calendar=year, is_workday=r.is_workday, kind=r.kind, name=r.name) for r in rows]
        )
        after = workdays.current_calendar()
        reason = _("Working-day calendar %(year)d entered (version %(version)d).") % {
            "year": year.year,
            "version": year.version,
        }
        changes = []
        for case in affected:
            if counts[case.pk] < 1:
                continue
            recomputed = services.set_recomputed_due_date(
                case.pk, working_days=counts[case.pk], calendar=after, by=by, reason=reason, now=now
            )
            changes.append(services.RecomputedDue.of(recomputed, before=case.due_date, working_days=counts[case.pk]))
        services.announce_recomputed(changes, year=year.year)
    return year, len(changes)


# -- reminding the city office ----------------------------------------------------------------

REMIND_FROM = (11, 1)  # (month, day): from 1 November next year's schedule is awaited


def awaited_year(today: dt.date) -> int | None:
    """The year whose official schedule should be entered now and is not: the current year if it
    is missing, else next year from 1 November. None when nothing is awaited."""
    candidates = [today.year]
    if (today.month, today.day) >= REMIND_FROM:
        candidates.append(today.year + 1)
    entered = set(CalendarYear.objects.filter(year__in=candidates).values_list("year", flat=True))
    return next((y for y in candidates if y not in entered), None)


def provisional_open_cases(year: int):
    """Open cases whose due date was counted on ``year`` provisionally."""
    return Case.objects.filter(
        state__in=OPEN_STATES, due_date_provisional=True, calendar_version__contains=f"{year}.{workdays.PROVISIONAL}"
    )


@dataclass(frozen=True)
class Awaited:
    year: int
    provisional_open: int


def awaited(today: dt.date) -> Awaited | None:
    """The banner's and the weekly message's facts: the awaited year and its provisional open cases."""
    year = awaited_year(today)
    if year is None:
        return None
    return Awaited(year, provisional_open_cases(year).count())
