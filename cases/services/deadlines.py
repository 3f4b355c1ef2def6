"""Due dates after the case is routed: recounts on a changed working-day calendar, and the
supervision (督办) of cases still overdue well past their due date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger.models import Source

from .. import signals, statutory, workdays
from ..models import OPEN_STATES, Case, local_date
from ._steps import acting


def merged_versions(*labels: str) -> str:
    """Join calendar-version labels (``2025.1+2026.1``), keeping the latest per year."""
    per_year: dict[str, str] = {}
    for label in labels:
        for part in (label or "").split("+"):
            year, dot, _version = part.partition(".")
            if dot and year.isdigit():
                per_year[year] = part
    return "+".join(per_year[y] for y in sorted(per_year))[:64] or (labels[-1] if labels else "")


def set_recomputed_due_date(
    case_id: int, *, working_days: int, calendar, by: User | None = None, reason: str, now: dt.datetime | None = None
) -> Case:
    """Recount a case's due date on a changed calendar, with a ledger entry (system action).

    ``working_days`` is the case's whole allowance (policy plus approved extensions) counted
    from the day of receipt; the caller counted it on the calendar the old date came from.
    """
    now = now or timezone.now()
    with acting("recompute_due", case_id, by=by, now=now, source=Source.SYSTEM) as act:
        case = act.case
        due = calendar.add_working_days(case.received_on, working_days)
        before = (case.due_date, case.due_date_provisional, case.calendar_version)
        case.due_date, case.due_date_provisional, case.calendar_version = (
            due.date,
            due.provisional,
            due.calendar_version,
        )
        act.save("due_date", "due_date_provisional", "calendar_version")
        act.record(
            {
                "reason": reason,
                "working_days": working_days,
                "due_date_before": before[0].isoformat() if before[0] else None,
                "provisional_before": before[1],
                "calendar_version_before": before[2],
                "due_date": due.date.isoformat(),
                "provisional": due.provisional,
                "calendar_version": due.calendar_version,
            },
            due_date=due.date,
        )
    return case


def recompute_provisional_due_dates(
    *, year: int | None = None, by: User | None = None, now: dt.datetime | None = None
) -> int:
    """Recompute the open cases' provisional due dates that are out of date; returns how many.

    Out of date: a year the date was counted on provisionally has been entered since, or the
    statutory rule in force for it is no longer the one its label names (a change of the law).
    ``cases.workcalendar.enter_year`` does the first as part of entering a year; this function
    catches up on years that reached the database another way (e.g. a data migration) and on
    dates counted before a rule was added. Closed cases keep the date they were closed against.
    """
    now = now or timezone.now()
    calendar = workdays.current_calendar()
    qs = Case.objects.filter(state__in=OPEN_STATES, due_date_provisional=True, due_date__isnull=False)
    if year is not None:
        qs = qs.filter(calendar_version__contains=f"{year}.{workdays.PROVISIONAL}")
    changes = []
    for case in qs.only("pk", "received_at", "due_date", "calendar_version").order_by("pk").iterator(chunk_size=500):
        rules = workdays.provisional_rules_of(case.calendar_version)
        stale = sorted(y for y, rule in rules.items() if calendar.knows(y) or rule != statutory.rule_for(y))
        if not stale:
            continue
        allowance = calendar.working_days_between(case.received_on, case.due_date, provisional=rules)
        if allowance < 1:
            continue
        before = case.due_date
        case = set_recomputed_due_date(
            case.pk,
            working_days=allowance,
            calendar=calendar,
            by=by,
            now=now,
            reason=_("Provisional due date recounted for %(years)s (calendar entered or holiday rule changed).")
            % {"years": ", ".join(map(str, stale))},
        )
        changes.append(RecomputedDue.of(case, before=before, working_days=allowance))
    announce_recomputed(changes, year=year)
    return len(changes)


@dataclass(frozen=True)
class RecomputedDue:
    """One open case whose due date was (or, in a preview, would be) counted again."""

    case_id: int
    number: str
    region_id: int
    department_id: int | None
    working_days: int
    before: dt.date
    after: dt.date
    provisional: bool

    @classmethod
    def of(cls, case: Case, *, before: dt.date, working_days: int) -> RecomputedDue:
        """``case`` as its recount left it, with the due date the recount set."""
        after = case.due_date
        if after is None:
            raise ValueError(f"case {case.pk} has no due date after its recount")
        return cls(
            case.pk,
            case.number,
            case.region_id,
            case.department_id,
            working_days,
            before,
            after,
            case.due_date_provisional,
        )

    @property
    def moved(self) -> bool:
        return self.before != self.after


def announce_recomputed(changes: Sequence[RecomputedDue], *, year: int | None) -> None:
    """Tell the listeners (each affected department's inbox) once the recomputation commits."""
    if changes:
        changes = list(changes)
        transaction.on_commit(lambda: signals.due_dates_recomputed.send(sender=Case, changes=changes, year=year))


def mark_supervised(
    case: Case | int, *, by: User | None = None, source: str | None = None, now: dt.datetime | None = None
) -> Case:
    """Mark a case 督办 (supervised): still overdue well past its due date.

    With ``by=None`` it is the deadline sweep acting; an office user may also mark a case of
    its region. Marking twice changes nothing.
    """
    now = now or timezone.now()
    if by is None:
        source = source or Source.SYSTEM
    with acting("supervise", case, by=by, now=now, source=source, check_state=False) as act:
        case = act.case
        if case.supervised:
            return case
        act.require_state()
        case.supervised = True
        act.save("supervised")
        act.record(
            {
                "due_date": case.due_date.isoformat() if case.due_date else None,
                "days_overdue": case.days_overdue(local_date(now)),
            }
        )
    return case
