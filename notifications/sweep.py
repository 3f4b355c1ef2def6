"""The deadline sweep: find due work by index, write it to the outbox, claim it, send it.

One run:

1. **plan** — for each reminder kind, read the open cases past that kind's threshold through
   the partial index on ``Case.due_date`` (open cases only) and insert one ``Reminder`` per
   (case, kind, due date); the unique key makes a second insert a no-op.
2. **process** — claim pending reminders in small batches with
   ``SELECT … FOR UPDATE SKIP LOCKED`` (ordered by case so concurrent sweeps lock cases in the
   same order), re-check each case under its row lock, put the messages in the inboxes and
   queue the emails, and mark the reminder sent — all in one transaction. Emails leave after
   commit. A reminder that raises is recorded (attempts, last error) and the sweep goes on.
3. **deliveries** — send deliveries whose task was lost, fail those left half-sent by a dead
   process, retry failed ones.

Thresholds count working days on the official calendar (``cases.workdays``):

=================  ===================================================  ======================
kind               fires when                                           goes to
=================  ===================================================  ======================
acknowledge_due    not acknowledged 1 working day after assignment       the department
due_soon           2 working days or fewer left before the due date     the department
overdue            the first working day after the due date             department, county
escalated          3 working days after the due date                    the city office
supervised (督办)  5 working days after the due date: case is marked    department, county
=================  ===================================================  ======================
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cases import services as case_services
from cases import workdays
from cases.models import OPEN_STATES, Case, State, local_date, local_midnight

from . import services
from .models import Kind, Reminder, SweepRun

log = logging.getLogger(__name__)

BATCH_SIZE = 100
RETRY_DELAY = dt.timedelta(minutes=5)
TIMER_KINDS = (Kind.ACKNOWLEDGE_DUE, Kind.DUE_SOON, Kind.OVERDUE, Kind.ESCALATED, Kind.SUPERVISED)


@dataclass(frozen=True)
class Timers:
    """Working days for each reminder; settings.DEADLINE_TIMERS may override any of them."""

    acknowledge_days: int = 1
    due_soon_days: int = 2
    overdue_days: int = 1
    escalate_days: int = 3
    supervise_days: int = 5

    @classmethod
    def from_settings(cls) -> Timers:
        return cls(**getattr(settings, "DEADLINE_TIMERS", {}))


@dataclass
class SweepResult:
    planned: int = 0
    sent: int = 0
    cancelled: int = 0
    deliveries: int = 0
    errors: list[dict] = field(default_factory=list)


def acknowledgement_deadline(case: Case, calendar, timers: Timers) -> dt.date | None:
    if case.assigned_at is None:
        return None
    return calendar.add_working_days(local_date(case.assigned_at), timers.acknowledge_days).date


# -- 1. plan ------------------------------------------------------------------------------------


def due_querysets(today: dt.date, calendar, timers: Timers) -> dict[str, object]:
    """For each due-date kind, the open cases past its threshold today, not yet in the outbox.

    Each filter is ``state IN (open) AND due_date <op> bound``: exactly the predicate of the
    partial index ``case_open_due_idx``, so the cost follows the due rows, not the table.
    """
    # order_by(): no sorting by the model's default order — the plan is a bare index scan.
    open_cases = Case.objects.filter(state__in=OPEN_STATES, due_date__isnull=False).order_by()
    soon_bound = calendar.add_working_days(today, timers.due_soon_days).date
    querysets = {
        Kind.DUE_SOON: open_cases.filter(due_date__gte=today, due_date__lte=soon_bound),
        Kind.OVERDUE: open_cases.filter(due_date__lt=calendar.workday_back(today, timers.overdue_days)),
        Kind.ESCALATED: open_cases.filter(due_date__lt=calendar.workday_back(today, timers.escalate_days)),
        Kind.SUPERVISED: open_cases.filter(due_date__lt=calendar.workday_back(today, timers.supervise_days)),
    }
    for kind, qs in querysets.items():
        already = Reminder.objects.filter(case=OuterRef("pk"), kind=kind, due_date=OuterRef("due_date"))
        querysets[kind] = qs.exclude(Exists(already))
    return querysets


def plan(now: dt.datetime, calendar, timers: Timers) -> int:
    today = local_date(now)
    planned = 0
    for kind, qs in due_querysets(today, calendar, timers).items():
        rows = [
            Reminder(case_id=pk, kind=kind, due_date=due, created_at=now, not_before=now)
            for pk, due in qs.values_list("pk", "due_date").iterator(chunk_size=2000)
        ]
        Reminder.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        planned += len(rows)
    # Acknowledgement: assigned before the start of the k-th working day back, still unsigned.
    bound = local_midnight(calendar.workday_back(today, timers.acknowledge_days))
    reminded = Reminder.objects.filter(
        case=OuterRef("pk"), kind=Kind.ACKNOWLEDGE_DUE, created_at__gte=OuterRef("assigned_at")
    )
    unacknowledged = (
        Case.objects.filter(state=State.ASSIGNED, acknowledged_at__isnull=True, assigned_at__lt=bound)
        .exclude(Exists(reminded))
        .order_by()
    )
    rows = [
        Reminder(
            case_id=pk,
            kind=Kind.ACKNOWLEDGE_DUE,
            created_at=now,
            not_before=now,
            due_date=calendar.add_working_days(local_date(assigned_at), timers.acknowledge_days).date,
        )
        for pk, assigned_at in unacknowledged.values_list("pk", "assigned_at").iterator(chunk_size=2000)
    ]
    Reminder.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return planned + len(rows)


# -- 2. process ---------------------------------------------------------------------------------


def still_due(reminder: Reminder, case: Case, today: dt.date, calendar, timers: Timers) -> bool:
    """Re-check under the case's row lock: the case may have been closed, acknowledged or
    given a new due date since the reminder was planned."""
    if not case.is_open:
        return False
    if reminder.kind == Kind.ACKNOWLEDGE_DUE:
        return (
            case.state == State.ASSIGNED
            and case.acknowledged_at is None
            and acknowledgement_deadline(case, calendar, timers) == reminder.due_date
        )
    if case.due_date != reminder.due_date:
        return False
    if reminder.kind == Kind.DUE_SOON:
        return today <= case.due_date
    days = {
        Kind.OVERDUE: timers.overdue_days,
        Kind.ESCALATED: timers.escalate_days,
        Kind.SUPERVISED: timers.supervise_days,
    }[reminder.kind]
    return case.due_date < calendar.workday_back(today, days)


def recipients(kind: str, case: Case, cache: dict | None = None) -> list:
    """Who hears of this reminder. ``cache`` keeps the user lists for one batch (the same
    department and county office recur across many reminders)."""
    cache = {} if cache is None else cache

    def cached(key, query):
        if key not in cache:
            cache[key] = list(query())
        return cache[key]

    department = (
        cached(("department", case.department_id), lambda: case_services.department_users(case.department_id))
        if case.department_id
        else []
    )
    county = cached(("office", case.region_id), lambda: case_services.office_users(case.region))
    if kind in (Kind.ACKNOWLEDGE_DUE, Kind.DUE_SOON):
        users = department or county
    elif kind in (Kind.OVERDUE, Kind.SUPERVISED):
        users = department + county
    else:  # escalated
        users = cached(("city",), case_services.city_office_users)
    seen, result = set(), []
    for user in users:
        if user.pk not in seen:
            seen.add(user.pk)
            result.append(user)
    return result


def message_for(kind: str, case: Case, today: dt.date) -> tuple[str, str]:
    """(subject, body) in the site language."""
    values = {
        "number": case.number,
        "enterprise": case.enterprise.name,
        "due": case.due_date.isoformat() if case.due_date else "—",
        "department": case.department.name if case.department_id else _("not routed"),
        "region": case.region.name,
        "days": (today - case.due_date).days if case.due_date else 0,
    }
    if kind == Kind.ACKNOWLEDGE_DUE:
        body = (
            _(
                "%(number)s (%(enterprise)s) was routed to %(department)s and has not been acknowledged yet. "
                "Please acknowledge it today."
            )
            % values
        )
    elif kind == Kind.DUE_SOON:
        body = _("%(number)s (%(enterprise)s) is due on %(due)s. Please finish it in time.") % values
    elif kind == Kind.OVERDUE:
        body = (
            _("%(number)s (%(enterprise)s) is overdue: it was due on %(due)s. Responsible department: %(department)s.")
            % values
        )
    elif kind == Kind.ESCALATED:
        body = (
            _(
                "Escalation: %(number)s (%(enterprise)s, %(region)s) is still open %(days)d days after its due "
                "date %(due)s. Responsible department: %(department)s."
            )
            % values
        )
    else:
        body = (
            _(
                "Supervised (督办): %(number)s (%(enterprise)s, %(region)s) is still open well past its due date "
                "%(due)s and is now under supervision; it will be named in the next notice. Responsible "
                "department: %(department)s."
            )
            % values
        )
    subject = _("[Enterprise problem ledger] %(kind)s: %(number)s") % {"kind": Kind(kind).label, "number": case.number}
    return subject, body


def _handle(reminder: Reminder, now: dt.datetime, today: dt.date, calendar, timers: Timers, cache: dict) -> str:
    """Deliver one claimed reminder inside the batch transaction; returns its new status."""
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("region", "enterprise", "department")
        .get(pk=reminder.case_id)
    )
    if not still_due(reminder, case, today, calendar, timers):
        reminder.status = Reminder.Status.CANCELLED
        reminder.save(update_fields=["status"])
        return reminder.status
    if reminder.kind == Kind.SUPERVISED:
        case_services.mark_supervised(case, now=now)
    subject, body = message_for(reminder.kind, case, today)
    users = recipients(reminder.kind, case, cache)
    if users:
        services.notify_many(
            users,
            kind=reminder.kind,
            message=body,
            case_id=case.pk,
            email_subject=subject,
            purpose=f"reminder:{reminder.pk}",
        )
    reminder.status, reminder.sent_at = Reminder.Status.SENT, now
    reminder.recipients = [u.pk for u in users]
    reminder.save(update_fields=["status", "sent_at", "recipients"])
    return reminder.status


def process(now: dt.datetime, calendar, timers: Timers, result: SweepResult) -> None:
    today = local_date(now)
    while True:
        with transaction.atomic():
            batch = list(
                Reminder.objects.select_for_update(skip_locked=True)
                .filter(status=Reminder.Status.PENDING, not_before__lte=now)
                .order_by("case_id", "id")[:BATCH_SIZE]
            )
            if not batch:
                return
            cache: dict = {}
            for reminder in batch:
                try:
                    with transaction.atomic():
                        status = _handle(reminder, now, today, calendar, timers, cache)
                except Exception as error:  # noqa: BLE001 - one bad case must not stop the sweep
                    log.exception("reminder %s (case %s, %s) failed", reminder.pk, reminder.case_id, reminder.kind)
                    reminder.attempts += 1
                    reminder.last_error = repr(error)[:2000]
                    reminder.not_before = now + RETRY_DELAY * reminder.attempts
                    if reminder.attempts >= Reminder.MAX_ATTEMPTS:
                        reminder.status = Reminder.Status.FAILED
                    reminder.save(update_fields=["attempts", "last_error", "not_before", "status"])
                    result.errors.append(
                        {
                            "reminder": reminder.pk,
                            "case": reminder.case_id,
                            "kind": reminder.kind,
                            "error": repr(error)[:500],
                        }
                    )
                    continue
                if status == Reminder.Status.SENT:
                    result.sent += 1
                else:
                    result.cancelled += 1


# -- a whole run --------------------------------------------------------------------------------


def run_sweep(now: dt.datetime | None = None) -> SweepRun:
    """One sweep, recorded as a ``SweepRun`` (its ``finished_at`` is what /healthz reports)."""
    now = now or timezone.now()
    run = SweepRun.objects.create(started_at=now, host=socket.gethostname()[:100])
    result = SweepResult()
    timers = Timers.from_settings()
    with translation.override(settings.LANGUAGE_CODE):
        calendar = workdays.current_calendar()
        try:
            result.planned = plan(now, calendar, timers)
        except Exception as error:  # noqa: BLE001 - still send what is already in the outbox
            log.exception("planning reminders failed")
            result.errors.append({"stage": "plan", "error": repr(error)[:500]})
        process(now, calendar, timers, result)
        try:
            result.deliveries = services.recover_and_send(now=now)
        except Exception as error:  # noqa: BLE001
            log.exception("retrying deliveries failed")
            result.errors.append({"stage": "deliveries", "error": repr(error)[:500]})
    run.planned, run.sent, run.cancelled = result.planned, result.sent, result.cancelled
    run.deliveries, run.errors = result.deliveries, result.errors[:100]
    run.finished_at = timezone.now()
    run.save()
    return run
