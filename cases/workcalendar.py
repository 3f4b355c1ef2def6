"""Entering a year of the official working-day calendar, and what follows from it.

A year is entered as the State Council publishes it: the statutory holidays (date ranges with a
name) and the make-up working days (调休). Everything else follows the weekend rule. Entering a
year that already has a calendar with different days is refused unless it is an explicit
revision; either way, every due date counted on that year (provisionally, or on the previous
version) is recomputed in the same transaction, each with a ledger entry.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import InvalidInput

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


def differences(existing, rows: list[DayRow]) -> tuple[list[tuple[DayRow, bool]], list[DayRow]]:
    """(rows contradicting the stored days, with the stored value; rows not stored at all)."""
    from .models import CalendarDay

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
    from .models import CalendarDay

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


def enter_year(
    schedule: YearSchedule, *, by=None, source: str, reference: str = "", revise: bool = False,
    now: dt.datetime | None = None,
) -> tuple[object, int]:
    """Store a year's calendar and recompute the due dates counted on it.

    Returns (the CalendarYear, number of cases whose due date was recomputed). A year that
    already has a calendar is left alone when the days agree; when they differ it is refused
    unless ``revise`` (the version is then bumped). All or nothing.
    """
    from . import services, workdays
    from .models import CalendarDay, CalendarYear, Case

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
        # year still unknown, or its previous version) before the new days go in.
        before = workdays.current_calendar()
        affected = list(
            Case.objects.filter(calendar_version__contains=f"{schedule.year}.", due_date__isnull=False)
            .select_for_update()
            .only("pk", "received_at", "due_date")
            .order_by("pk")
        )
        counts = {c.pk: before.working_days_between(c.received_on, c.due_date) for c in affected}

        if existing is None:
            year = CalendarYear.objects.create(
                year=schedule.year, version=1, source=source[:100], reference=reference[:200],
                entered_by=by if by is not None and by.pk else None, updated_at=now,
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
            "year": year.year, "version": year.version,
        }
        changed = 0
        for case in affected:
            if counts[case.pk] < 1:
                continue
            services.set_recomputed_due_date(
                case.pk, working_days=counts[case.pk], calendar=after, by=by, reason=reason, now=now
            )
            changed += 1
    return year, changed
