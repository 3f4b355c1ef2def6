"""Each role's dashboard: its work queues (cases.queues), counted and listed in bounded queries.

County office: 待交办, 退单 (reason and suggested department), 延期待审批 (decided inline), 逾期/督办,
临期, 待签收 (what departments have not taken up), 待回访. Department: 待签收, 办理中 by due date,
逾期, 延期申请结果. City office: the ten counties side by side, then its own queues across them.
Assessor: the cases by state and the overdue ones.

Every section costs two queries (its count and its first rows); what a row needs beyond the case
(the return entry, the pending request, the due date if approved) is fetched for all the shown
rows at once — never a query per row.
"""

from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection, transaction
from django.db.models import Count, Func, IntegerField, OuterRef, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from cases import workdays
from cases.models import (
    Case,
    Department,
    ExtensionRequest,
    Region,
    State,
    local_midnight,
    state_label,
)
from cases.queues import OFFICE_QUEUES, Queue, condition, in_queue, suggested_department
from cases.roles import Role, department_of
from cases.scope import scope_of
from ledger.models import LedgerEntry

ROWS = 8
EXTENSION_RESULT_DAYS = 30
# Queue sizes are counted exactly up to here and shown as "1000+" beyond: a county's queues are
# small, and a city-wide count of a million rows would cost the page more than it tells.
COUNT_CAP = 1000
# The city office's table of ten counties × six queues counts each cell up to here ("100+"): an
# overview of where work piles up, each cell a link to the whole queue in the 台帐.
TABLE_CAP = 100


def capped_count(queryset, cap: int | None = None) -> int:
    """The queryset's size, exact up to ``cap`` (COUNT_CAP); ``cap + 1`` means more (one bounded query)."""
    cap = COUNT_CAP if cap is None else cap
    return queryset.order_by().values("pk")[: cap + 1].count()


@contextmanager
def queue_planning():
    """Run the queues' bounded queries with nested loops on PostgreSQL. "Never routed" is a NOT
    EXISTS over the routings: with a LIMIT the planner still hashes every routing ever made (a
    million rows) when probing the routings index for the few cases read is what the cap needs.
    SET LOCAL ends with the transaction; other databases plan these well as they are."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")
        yield


def count_label(count: int, cap: int | None = None) -> str:
    cap = COUNT_CAP if cap is None else cap
    return f"{cap}+" if count > cap else str(count)


@dataclass
class Section:
    key: str
    title: str
    count: int  # exact up to COUNT_CAP; COUNT_CAP + 1 means more
    rows: list
    link: str = ""
    css: str = ""
    kind: str = "cases"  # which row template: cases, returned, extension, extension_results
    note: str = ""
    wide: bool = False  # its rows say more than a case: the whole width of the desk

    @property
    def count_label(self) -> str:
        return count_label(self.count)


@dataclass
class CountyRow:
    region: Region
    counts: list[tuple[str, str, str]] = field(default_factory=list)  # (queue, count label, ledger link)


def ledger_link(**query) -> str:
    return f"{reverse('cases:ledger')}?{urlencode({k: v for k, v in query.items() if v not in (None, '')})}"


def _section(key, title, queryset, *, link="", css="", kind="cases", note="", wide=False) -> Section:
    return Section(
        key=key,
        title=title,
        count=capped_count(queryset),
        rows=list(queryset[:ROWS]),
        link=link,
        css=css,
        kind=kind,
        note=note,
        wide=wide,
    )


def _scope(user):
    return _shown(Case.objects.for_user(user))


def _shown(cases):
    # What the rows show (the enterprise's and the department's names): every join more is
    # planning time on each of the page's dozen row queries, for columns no row reads.
    return cases.select_related("enterprise", "department")


# -- rows that need more than the case ---------------------------------------------------------


def attach_returns(cases: list[Case]) -> None:
    """Give each returned case its latest return entry (who, why, where to) and the department
    that suggestion names, if it names one: two queries for all of them."""
    if not cases:
        return
    latest: dict[int, dict] = {}
    entries = (
        LedgerEntry.objects.filter(case_id__in=[c.pk for c in cases], action="return")
        .order_by("case_id", "-seq")
        .values_list("case_id", "payload")
    )
    for case_id, payload in entries:
        latest.setdefault(case_id, payload or {})
    region_ids = {c.region_id for c in cases}
    departments = list(
        Department.objects.filter(active=True)
        .filter(Q(region_id__in=region_ids) | Q(region__level=Region.Level.CITY))
        .select_related("region")
    )
    for case in cases:
        payload = latest.get(case.pk, {})
        case.returned_by = payload.get("department_name", "")
        case.return_reason = payload.get("reason", "")
        case.return_suggestion = payload.get("suggested_department", "")
        routable = [d for d in departments if d.region_id == case.region_id or d.region.is_city]
        case.suggested = suggested_department(
            case.return_suggestion, routable, region=case.region, exclude_id=payload.get("department")
        )


def attach_pending_requests(cases: list[Case]) -> None:
    """Each case's pending extension request and its due date if approved: one query, and one
    for the calendar."""
    if not cases:
        return
    requests = {
        r.case_id: r
        for r in ExtensionRequest.objects.filter(
            case_id__in=[c.pk for c in cases], status=ExtensionRequest.Status.PENDING
        ).select_related("requested_by")
    }
    calendar = workdays.current_calendar()
    for case in cases:
        case.pending_request = request = requests.get(case.pk)
        case.due_if_approved = (
            calendar.add_working_days(case.due_date, request.days) if request and case.due_date else None
        )


def attach_lateness(cases: list[Case], today: dt.date) -> None:
    for case in cases:
        case.days_late = case.days_overdue(today)


# -- per role ------------------------------------------------------------------------------------


def office_sections(user, today: dt.date, soon: dt.date) -> list[Section]:
    scope = _scope(user)
    sections = [
        _section(
            "to_route",
            _("To be routed"),
            in_queue(scope, Queue.TO_ROUTE, today),
            link=ledger_link(queue=Queue.TO_ROUTE),
        ),
        _section(
            "returned",
            _("Returned by departments"),
            in_queue(scope.select_related("region"), Queue.RETURNED, today),  # the suggestion reads its name
            link=ledger_link(queue=Queue.RETURNED),
            css="warn",
            kind="returned",
            wide=True,
        ),
        _section(
            "extension",
            _("Extensions awaiting approval"),
            in_queue(scope, Queue.EXTENSION, today),
            link=ledger_link(queue=Queue.EXTENSION),
            css="warn",
            kind="extension",
            wide=True,
        ),
        _section(
            "overdue",
            _("Overdue / supervised"),
            in_queue(scope, Queue.OVERDUE, today),
            link=ledger_link(queue=Queue.OVERDUE),
            css="bad",
            kind="overdue",
        ),
        _section(
            "due_soon",
            _("Due within 2 working days"),
            scope.filter(state__in=(State.RECEIVED, State.ASSIGNED), due_date__gte=today, due_date__lte=soon).order_by(
                "due_date", "id"
            ),
            css="warn",
        ),
        _section(
            "unacknowledged",
            _("Routed, not yet acknowledged"),
            in_queue(scope, Queue.TO_ACKNOWLEDGE, today),
            link=ledger_link(queue=Queue.TO_ACKNOWLEDGE),
        ),
        _section(
            "follow_up",
            _("Closed, awaiting follow-up"),
            in_queue(scope, Queue.FOLLOW_UP, today),
            link=ledger_link(queue=Queue.FOLLOW_UP),
            kind="follow_up",
        ),
    ]
    by_key = {s.key: s for s in sections}
    attach_returns(by_key["returned"].rows)
    attach_pending_requests(by_key["extension"].rows)
    attach_lateness(by_key["overdue"].rows, today)
    return sections


def department_sections(user, today: dt.date) -> list[Section]:
    department = department_of(user)
    if scope_of(user).department_id == department.pk:
        # The cases with the department now: each was routed to it, so its DepartmentCase row
        # exists and the scope's join adds nothing but planning and probes; read by the case's
        # department alone (case_department_state_idx and the queues' indexes).
        mine = _shown(Case.objects.filter(department=department))
    else:
        mine = _scope(user).filter(department=department)
    since = local_midnight(today - dt.timedelta(days=EXTENSION_RESULT_DAYS))
    # The department's own requests, also on cases since routed elsewhere.
    requests = (
        ExtensionRequest.objects.filter(requested_by__profile__department=department, requested_at__gte=since)
        .select_related("case", "case__enterprise", "decided_by")
        .order_by("-requested_at", "-id")
    )
    sections = [
        _section(
            "to_acknowledge",
            _("Awaiting acknowledgement"),
            in_queue(mine, Queue.TO_ACKNOWLEDGE, today),
            link=ledger_link(queue=Queue.TO_ACKNOWLEDGE, department=department.pk),
            css="warn",
        ),
        _section(
            "in_hand",
            _("Being handled, by due date"),
            in_queue(mine, Queue.IN_HAND, today),
            link=ledger_link(queue=Queue.IN_HAND, department=department.pk),
            kind="in_hand",
        ),
        _section(
            "overdue",
            _("Overdue"),
            in_queue(mine, Queue.OVERDUE, today),
            link=ledger_link(queue=Queue.OVERDUE, department=department.pk),
            css="bad",
            kind="overdue",
        ),
        _section(
            "extension_results",
            _("Extension requests"),
            requests,
            kind="extension_results",
            wide=True,
            note=_("Requested in the last %(days)d days.") % {"days": EXTENSION_RESULT_DAYS},
        ),
    ]
    for section in sections[:3]:
        attach_lateness(section.rows, today)
    return sections


def assessor_sections(user, today: dt.date) -> list[Section]:
    overdue = _section(
        "overdue",
        _("Overdue / supervised"),
        in_queue(_scope(user), Queue.OVERDUE, today),
        link=ledger_link(queue=Queue.OVERDUE),
        css="bad",
        kind="overdue",
    )
    attach_lateness(overdue.rows, today)
    return [overdue]


def state_totals(user) -> dict[str, str]:
    """The user's cases by state. Where the user reads every region of a large PostgreSQL
    database, the planner's estimate from the table's statistics ("约 738000"), not a count of
    a million rows; otherwise exact."""
    cases = Case.objects.for_user(user)
    if (
        scope_of(user).every_region
        and connection.vendor == "postgresql"
        and _estimate(Case.objects.all()) > ESTIMATE_FROM
    ):
        return {
            state_label(state): _("about %(n)s") % {"n": _estimate(cases.filter(state=state))} for state in State.values
        }
    counts = dict(cases.order_by().values_list("state").annotate(n=Count("id")))
    return {state_label(state): str(counts.get(state, 0)) for state in State.values}


ESTIMATE_FROM = 50_000  # rows: below this, counting is cheap enough


def _estimate(queryset) -> int:
    """The PostgreSQL planner's row estimate for the queryset (EXPLAIN, nothing read)."""
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def county_table(user, today: dt.date) -> tuple[list[tuple[str, str]], list[CountyRow], list[str]]:
    """The city office's table: every county (and the city's own cases) × every office queue,
    each cell counted up to TABLE_CAP in one query (one bounded index scan per cell).
    Returns (columns, rows, totals)."""
    columns = [(queue.value, str(queue.label)) for queue in OFFICE_QUEUES]
    scope = Case.objects.for_user(user)
    if connection.vendor == "postgresql":
        # One query: per region and queue, cardinality(ARRAY(the first TABLE_CAP + 1 cases)) — a
        # bounded index scan per cell, however many cases the queue holds.
        cells = {
            queue.value: Func(
                ArraySubquery(
                    scope.filter(region=OuterRef("pk"))
                    .filter(condition(queue, today))
                    .order_by()
                    .values("pk")[: TABLE_CAP + 1]
                ),
                function="cardinality",
                output_field=IntegerField(),
            )
            for queue in OFFICE_QUEUES
        }
        regions = list(Region.objects.order_by("level", "code").annotate(**cells))
        counted = {(region.pk, key): getattr(region, key) for region in regions for key, _label in columns}
    else:  # the embedded default's SQLite: a small database, counted exactly in one grouped query
        aggregates = {queue.value: Count("pk", filter=condition(queue, today)) for queue in OFFICE_QUEUES}
        grouped = scope.order_by().values("region").annotate(**aggregates)
        counted = {(row["region"], key): row[key] for row in grouped for key, _label in columns}
        regions = list(Region.objects.order_by("level", "code"))
    rows, totals, over = [], [0] * len(columns), [False] * len(columns)
    for region in regions:
        found = [counted.get((region.pk, key), 0) for key, _label in columns]
        if region.is_city and not any(found):
            continue  # the city logs few cases of its own; a row only when it has some
        row = CountyRow(region)
        for index, ((key, _label), n) in enumerate(zip(columns, found, strict=True)):
            totals[index] += min(n, TABLE_CAP)
            over[index] = over[index] or n > TABLE_CAP
            row.counts.append((key, count_label(n, TABLE_CAP), ledger_link(queue=key, region=region.pk)))
        rows.append(row)
    return columns, rows, [f"{n}+" if more else str(n) for n, more in zip(totals, over, strict=True)]


def sections_for(user, role: str | None, today: dt.date, soon: dt.date) -> list[Section]:
    if role in (Role.CITY_OFFICE, Role.COUNTY_OFFICE):
        return office_sections(user, today, soon)
    if role == Role.DEPARTMENT and department_of(user) is not None:
        return department_sections(user, today)
    if role == Role.ASSESSOR:
        return assessor_sections(user, today)
    return []
