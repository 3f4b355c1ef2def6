"""The figures of a notice (SPEC §5), read from the ledger as it stood at the period's end.

For a period [start, end] (Asia/Shanghai dates; compared as the half-open [start 00:00, end+1 00:00)):

- received: cases received in it;
- assigned: cases whose first ``assign`` entry lies in it (cases, not entries);
- resolved / explained: cases whose latest closing entry in the period is of that kind;
- open: cases whose state as of the end (latest entry with a state, occurred before the end) is
  received or assigned;
- on_time_rate: closed-in-period cases whose closing local date is on or before the due date in
  force at closing (the latest non-null ``LedgerEntry.due_date`` up to the closing entry);
- overdue: cases open at the end whose due date in force then has passed by the end of the
  period's last day; supervised: those of them marked 督办.

Counting happens in SQL with correlated subqueries over the (case, occurred_at) index; Python
only walks the rows of cases closed in the period and the overdue ones, never every case's history.
The rows those subqueries run for are found through case indexes, never by reading the region's
whole ledger: first routings by ``Case.first_assigned_at`` (region, first_assigned_at), closings
by the cases whose latest closing is in the period or that were reopened (region, closed_at), the
cases open at the end by the open-case index and closings after it. tests/notices/
test_drafting_paths.py compares the figures with the ledger-only reading they replaced.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal

from django.db.models import OuterRef, Q, Subquery
from django.utils.translation import gettext as _

from cases.models import (
    OPEN_STATES,
    Case,
    CaseAssignment,
    Department,
    Region,
    local_date,
)
from cases.rates import rate_str
from ledger.heads import CLOSING_ACTIONS
from ledger.models import LedgerEntry

from .periods import Period

COUNT_KEYS = ("received", "assigned", "resolved", "explained", "closed", "on_time", "open")


def cases_in_scope(region: Region):
    """A county's notice covers its cases; the city's covers every county's (and its own)."""
    return Case.objects.all() if region.is_city else Case.objects.filter(region=region)


def _state_at(moment: dt.datetime):
    return Subquery(
        LedgerEntry.objects.filter(case=OuterRef("pk"), occurred_at__lt=moment)
        .exclude(to_state="")
        .order_by("-occurred_at", "-seq")
        .values("to_state")[:1]
    )


def _due_at(moment: dt.datetime):
    return Subquery(
        LedgerEntry.objects.filter(case=OuterRef("pk"), occurred_at__lt=moment, due_date__isnull=False)
        .order_by("-occurred_at", "-seq")
        .values("due_date")[:1]
    )


def _department_at(moment: dt.datetime):
    return Subquery(
        CaseAssignment.objects.filter(case=OuterRef("pk"), assigned_at__lt=moment)
        .order_by("-assigned_at", "-id")
        .values("department_id")[:1]
    )


def compute(region: Region, period: Period) -> dict:
    """{"figures": {...}, "departments": [...]} for the region's notice of the period."""
    start, end = period.bounds()
    # "Past the due date at the period's end": by the end of its last day the due date has passed
    # when it is on or before that day.
    after_end = period.end + dt.timedelta(days=1)
    scope = cases_in_scope(region)

    received_qs = scope.filter(received_at__gte=start, received_at__lt=end)
    received = received_qs.count()

    # The case's first ``assign`` entry, kept on the case by the routing (cases.Case.assign).
    assigned = scope.filter(first_assigned_at__gte=start, first_assigned_at__lt=end).count()

    # Cases closed in the period, by their latest closing in it.
    # Every closing entry of the period with the due date in force at it and the department that
    # had the case then; a case closed twice in the period counts by its latest closing.
    # A case has a closing in the period only if its latest closing (``Case.closed_at``) is in
    # it, or it was reopened since (its closed_at then later, or none while open again): those
    # few cases, found through the case indexes, and their entries through (case, occurred_at).
    closed_candidates = scope.filter(Q(closed_at__gte=start, closed_at__lt=end) | Q(reopen_count__gt=0))
    closing_entries = (
        LedgerEntry.objects.filter(case__in=closed_candidates.values("pk"))
        .filter(action__in=CLOSING_ACTIONS, occurred_at__gte=start, occurred_at__lt=end)
        .annotate(
            due_in_force=Subquery(
                LedgerEntry.objects.filter(case=OuterRef("case_id"), seq__lte=OuterRef("seq"), due_date__isnull=False)
                .order_by("-seq")
                .values("due_date")[:1]
            ),
            department_then=Subquery(
                CaseAssignment.objects.filter(case=OuterRef("case_id"), assigned_at__lte=OuterRef("occurred_at"))
                .order_by("-assigned_at", "-id")
                .values("department_id")[:1]
            ),
        )
        # No ORDER BY: sorting here made PostgreSQL walk the whole ledger by case; sort the few rows below.
        .order_by()
        .values_list("case_id", "occurred_at", "seq", "action", "due_in_force", "department_then")
    )
    latest_closing = {row[0]: row[3:] + (row[1],) for row in sorted(closing_entries, key=lambda r: r[:3])}
    closed_rows = list(latest_closing.values())

    # State, due date and department as the ledger stood at the end of the period. A case closed
    # before the end and not reopened since (closed_at is its latest closing) was closed then:
    # leaving those out spares the subqueries most of a past year's cases.
    as_of_end = (
        # Open now, or closed at or after the end (every state is open or closed, and a closed case
        # has its closed_at): read through the open-case and closing indexes, not the county.
        scope.filter(Q(state__in=OPEN_STATES) | Q(closed_at__gte=end), received_at__lt=end).annotate(
            state_at_end=_state_at(end), due_at_end=_due_at(end), dept_at_end=_department_at(end)
        )
    )
    # Which of them were open at the end is judged here, on the state selected: filtering on it in
    # SQL made PostgreSQL run the state's subquery twice per case.
    open_rows = [
        row
        for row in as_of_end.order_by("due_at_end", "number").values_list(
            "number", "enterprise__name", "state_at_end", "dept_at_end", "due_at_end", "supervised"
        )
        if row[2] in OPEN_STATES
    ]
    open_count = len(open_rows)
    overdue_rows = [row for row in open_rows if row[4] is not None and row[4] < after_end]
    received_rows = received_qs.annotate(state_at_end=_state_at(end), dept_at_end=_department_at(end))
    received_by_department = Counter(received_rows.order_by().values_list("state_at_end", "dept_at_end"))

    # Departments met anywhere in the figures, named once.
    department_ids = {row[2] for row in closed_rows if row[2]} | {r[3] for r in overdue_rows if r[3]}
    department_ids |= {d for _s, d in received_by_department if d}
    names = _department_names(department_ids, region)

    table: dict[int | None, dict] = defaultdict(lambda: {"received": 0, "closed": 0, "on_time": 0, "overdue": 0})
    counts = dict.fromkeys(COUNT_KEYS, 0)
    counts["received"], counts["assigned"], counts["open"] = received, assigned, open_count
    for action, due, department, close_at in closed_rows:
        on_time = due is None or local_date(close_at) <= due
        counts["resolved" if action == "resolve" else "explained"] += 1
        counts["closed"] += 1
        counts["on_time"] += on_time
        row = table[department]
        row["closed"] += 1
        row["on_time"] += on_time
    for (state, department), n in received_by_department.items():
        table[department if state != "received" else None]["received"] += n

    overdue_cases = []
    for number, enterprise, state, department, due, supervised in overdue_rows:
        department = department if state != "received" else None
        table[department]["overdue"] += 1
        overdue_cases.append(
            {
                "number": number,
                "enterprise": enterprise,
                "department": names.get(department, _("Not yet routed")),
                "due_date": due.isoformat(),
                "days_overdue": (after_end - due).days,
                "supervised": bool(supervised),
            }
        )

    departments = [
        {"name": names[pk], **row}
        for pk, row in sorted(
            ((pk, row) for pk, row in table.items() if pk is not None), key=lambda item: names[item[0]]
        )
    ]
    if None in table:
        departments.append({"name": _("Not yet routed"), **table[None]})

    figures = {
        **counts,
        "on_time_rate": rate_str(counts["on_time"], counts["closed"]),
        "overdue": [c["number"] for c in overdue_cases],
        "supervised": [c["number"] for c in overdue_cases if c["supervised"]],
        "overdue_cases": overdue_cases,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
    }
    return {"figures": figures, "departments": departments}


def _department_names(ids: set[int], region: Region) -> dict[int, str]:
    departments = Department.objects.filter(pk__in=ids).select_related("region")
    names = {d.pk: d.name for d in departments}
    # In the city's notice two counties may both have a 工信局: name them with their region.
    duplicated = {n for n in names.values() if list(names.values()).count(n) > 1}
    for d in departments:
        if d.name in duplicated or (region.is_city and d.region_id != region.pk and d.region.name not in d.name):
            names[d.pk] = f"{d.region.name}{d.name}"
    return names


DELTA_KEYS = ("received", "assigned", "resolved", "explained", "closed", "open")


def changes(current: dict, previous: dict | None, previous_period: str | None) -> dict | None:
    """How this period's figures moved against the previous period's notice."""
    if not previous:
        return None
    delta = {key: current.get(key, 0) - previous.get(key, 0) for key in DELTA_KEYS if key in previous}
    delta["overdue"] = len(current.get("overdue", [])) - len(previous.get("overdue", []))
    delta["supervised"] = len(current.get("supervised", [])) - len(previous.get("supervised", []))
    now_rate, then_rate = current.get("on_time_rate"), previous.get("on_time_rate")
    delta["on_time_rate"] = (
        str(Decimal(now_rate) - Decimal(then_rate)) if now_rate is not None and then_rate is not None else None
    )
    delta["previous_period"] = previous_period
    return delta


def previous_figures(region: Region, period: Period) -> tuple[dict | None, str | None]:
    """The figures of the previous period's notice: the one in force, else its draft."""
    from .models import ISSUED_STATES, Notice, Status

    before = period.previous()
    candidates = Notice.objects.filter(region=region, period=before.key).only("figures", "status")
    chosen = candidates.filter(status__in=ISSUED_STATES).first() or candidates.filter(status=Status.DRAFTED).first()
    if chosen is None or not chosen.figures:
        return None, None
    return chosen.figures, before.key
