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
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Exists, Min, OuterRef, Subquery
from django.utils.translation import gettext as _

from cases.models import OPEN_STATES, Case, CaseAssignment, Department, Region, local_date
from ledger.models import LedgerEntry

from .periods import Period

CLOSING_ACTIONS = ("resolve", "explain")
COUNT_KEYS = ("received", "assigned", "resolved", "explained", "closed", "on_time", "open")


def cases_in_scope(region: Region):
    """A county's notice covers its cases; the city's covers every county's (and its own)."""
    return Case.objects.all() if region.is_city else Case.objects.filter(region=region)


def rate(part: int, whole: int) -> str | None:
    if not whole:
        return None
    return str((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def _entries(region: Region):
    entries = LedgerEntry.objects.all()
    return entries if region.is_city else entries.filter(case__region=region)


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


def _department_at(moment: dt.datetime, *, inclusive: bool = False, ref: str | None = None):
    bound = OuterRef(ref) if ref else moment
    lookup = "assigned_at__lte" if inclusive else "assigned_at__lt"
    return Subquery(
        CaseAssignment.objects.filter(case=OuterRef("pk"), **{lookup: bound})
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

    assigned = (
        _entries(region).filter(action="assign").values("case_id")
        .annotate(first=Min("occurred_at")).filter(first__gte=start, first__lt=end).count()
    )

    # Cases closed in the period, by their latest closing in it.
    closings = LedgerEntry.objects.filter(
        case=OuterRef("pk"), action__in=CLOSING_ACTIONS, occurred_at__gte=start, occurred_at__lt=end
    ).order_by("-occurred_at", "-seq")
    closed_rows = list(
        scope.filter(Exists(closings))
        .annotate(
            close_seq=Subquery(closings.values("seq")[:1]),
            close_action=Subquery(closings.values("action")[:1]),
            close_at=Subquery(closings.values("occurred_at")[:1]),
        )
        .annotate(
            due_at_close=Subquery(
                LedgerEntry.objects.filter(case=OuterRef("pk"), seq__lte=OuterRef("close_seq"), due_date__isnull=False)
                .order_by("-seq").values("due_date")[:1]
            ),
            dept_at_close=_department_at(end, inclusive=True, ref="close_at"),
        )
        .values_list("close_action", "close_at", "due_at_close", "dept_at_close")
    )

    # State, due date and department as the ledger stood at the end of the period.
    as_of_end = scope.filter(received_at__lt=end).annotate(
        state_at_end=_state_at(end), due_at_end=_due_at(end), dept_at_end=_department_at(end)
    )
    open_count = as_of_end.filter(state_at_end__in=OPEN_STATES).count()
    overdue_rows = list(
        as_of_end.filter(state_at_end__in=OPEN_STATES, due_at_end__lt=after_end)
        .order_by("due_at_end", "number")
        .values_list("number", "enterprise__name", "state_at_end", "dept_at_end", "due_at_end", "supervised")
    )
    received_by_department = list(
        received_qs.annotate(state_at_end=_state_at(end), dept_at_end=_department_at(end))
        .values("state_at_end", "dept_at_end").annotate(n=Count("id")).values_list("state_at_end", "dept_at_end", "n")
    )

    # Departments met anywhere in the figures, named once.
    department_ids = {d for *_, d in closed_rows if d} | {r[3] for r in overdue_rows if r[3]}
    department_ids |= {d for _s, d, _n in received_by_department if d}
    names = _department_names(department_ids, region)

    table: dict[int | None, dict] = defaultdict(lambda: {"received": 0, "closed": 0, "on_time": 0, "overdue": 0})
    counts = dict.fromkeys(COUNT_KEYS, 0)
    counts["received"], counts["assigned"], counts["open"] = received, assigned, open_count
    for action, close_at, due, department in closed_rows:
        on_time = due is None or local_date(close_at) <= due
        counts["resolved" if action == "resolve" else "explained"] += 1
        counts["closed"] += 1
        counts["on_time"] += on_time
        row = table[department]
        row["closed"] += 1
        row["on_time"] += on_time
    for state, department, n in received_by_department:
        table[department if state != "received" else None]["received"] += n

    overdue_cases = []
    for number, enterprise, state, department, due, supervised in overdue_rows:
        department = department if state != "received" else None
        table[department]["overdue"] += 1
        overdue_cases.append({
            "number": number,
            "enterprise": enterprise,
            "department": names.get(department, _("Not yet routed")),
            "due_date": due.isoformat(),
            "days_overdue": (after_end - due).days,
            "supervised": bool(supervised),
        })

    departments = [
        {"name": names[pk], **row} for pk, row in sorted(
            ((pk, row) for pk, row in table.items() if pk is not None), key=lambda item: names[item[0]]
        )
    ]
    if None in table:
        departments.append({"name": _("Not yet routed"), **table[None]})

    figures = {
        **counts,
        "on_time_rate": rate(counts["on_time"], counts["closed"]),
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
    from .models import Notice, Status

    before = period.previous()
    notice = (
        Notice.objects.filter(region=region, period=before.key)
        .exclude(status=Status.SUPERSEDED)
        .order_by(
            # In force first (issued/offline), then the draft.
            "status",
        )
        .only("figures", "status")
    )
    chosen = None
    for candidate in notice:
        if candidate.status != Status.DRAFTED:
            chosen = candidate
            break
        chosen = chosen or candidate
    if chosen is None or not chosen.figures:
        return None, None
    return chosen.figures, before.key



