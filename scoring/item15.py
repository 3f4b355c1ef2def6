"""Item 15 — timeliness (办理时效及质量), SPEC §6.

Counted: cases closed by the cutoff, and open cases whose due date (as of the cutoff, after
approved extensions) is on or before it. On time: closed — resolved or explained — on a local date
on or before that due date; a reopened case counts by its latest closing. Open cases due after the
cutoff are pending: listed, not counted. Everything is read from the ledger as it stood at the end
of the cutoff day, in one aggregate query over the cases in scope: a chain that ended before then
from its ``LedgerHead`` (one row per case, the same facts an aggregate over its entries gives —
``tests/scoring/test_item15.py`` checks it case for case), a chain that goes on past it from its
entries before then.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.db import connection

from cases.models import Case
from ledger.heads import CLOSING_ACTIONS, ROUTING_ACTIONS, UNROUTING_ACTIONS, sql_in
from ledger.models import LedgerEntry, LedgerHead

from .ladders import Rung, fraction_or_none, ladder, rate_str
from .models import LedgerVerdict
from .scope import Scope
from .sql import Dialect, dialect_for, dt_param

ON_TIME, CLOSED_LATE, OPEN_LATE, PENDING = "on_time", "closed_late", "open_late", "pending"


@dataclass
class LedgerRecord:
    """A case in scope without a 'complete' verdict: item 13 reads or makes its verdict."""

    case_id: int
    n: int
    top: int
    number: str
    missing: list[str] | None  # None: not judged yet


@dataclass
class Timeliness:
    """Item 15's facts for one region (or one department)."""

    on_time: int = 0
    closed_late: list[str] = field(default_factory=list)
    open_late: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    # Item 13's share of the same scan: cases judged complete, and the rest.
    judged_complete: int = 0
    ledger_records: list[LedgerRecord] = field(default_factory=list)

    @property
    def late(self) -> list[str]:
        return sorted(self.closed_late + self.open_late)

    @property
    def counted(self) -> int:
        return self.on_time + len(self.closed_late) + len(self.open_late)

    @property
    def listed(self) -> int:
        """The cases the drill-down lists: late (closed or open) and pending."""
        return len(self.closed_late) + len(self.open_late) + len(self.pending)

    @property
    def in_scope(self) -> int:
        return self.counted + len(self.pending)

    @property
    def not_assessable(self) -> bool:
        return self.counted == 0

    @property
    def rate(self) -> Fraction | None:
        return fraction_or_none(self.on_time, self.counted)

    @property
    def rate_text(self) -> str | None:
        return rate_str(self.on_time, self.counted)

    def rung(self, params: dict) -> Rung:
        rate = self.rate
        if rate is None:  # not assessable: nothing counted
            return Rung(Decimal(params.get("below_points", "0")))
        return ladder(rate, params)

    def merge(self, other: Timeliness) -> None:
        self.on_time += other.on_time
        self.closed_late += other.closed_late
        self.open_late += other.open_late
        self.pending += other.pending
        self.judged_complete += other.judged_complete
        self.ledger_records += other.ledger_records

    def sort(self) -> None:
        self.closed_late.sort()
        self.open_late.sort()
        self.pending.sort()


def _in_scope(region_count: int) -> str:
    """Parameters: region ids…, scope start, scope end (received in the year up to the cutoff)."""
    return f"c.region_id IN ({', '.join(['%s'] * region_count)}) AND c.received_at >= %s AND c.received_at < %s"


def from_heads_sql(d: Dialect, region_count: int) -> str:
    """Per case in scope whose chain ends before the end of the cutoff day, from its ledger head:
    one row with exactly what an aggregate over its entries gives (``ledger.heads``), and the
    completeness verdict on its whole chain. Parameters: ``_in_scope``'s, scope end."""
    cases, heads = Case._meta.db_table, LedgerHead._meta.db_table
    return f"""
        SELECT c.id AS id, c.region_id AS region_id, c.number AS number, h.seq AS n, h.seq AS top,
            h.close_seq AS close_seq, h.reopen_seq AS reopen_seq, h.closed_at AS closed_at,
            h.due_date AS due_date, h.department_id AS department, h.complete AS complete, h.missing AS missing
        FROM {cases} c JOIN {heads} h ON h.case_id = c.id
        WHERE {_in_scope(region_count)} AND h.last_at < %s
    """


def from_entries_sql(d: Dialect, region_count: int) -> str:
    """The same columns for a case in scope whose chain goes on past the cutoff: aggregated from
    its entries before the end of the cutoff day, with ``LedgerVerdict``'s verdict on that prefix
    (null: not judged yet). Parameters: ``_in_scope``'s, scope end, scope end."""
    cases, entries, heads = Case._meta.db_table, LedgerEntry._meta.db_table, LedgerHead._meta.db_table
    verdicts = LedgerVerdict._meta.db_table
    # The same facts ledger.heads keeps, from the same action lists; held equal to the ledger's one
    # replay (ledger.heads.replay) on generated chains by tests/ledger/test_one_replay.py.
    closing = f"e.action IN {sql_in(CLOSING_ACTIONS)}"
    department = d.json_text("e.payload", "department")
    return f"""
        SELECT later.id AS id, later.region_id AS region_id, later.number AS number, later.n AS n,
            later.top AS top, later.close_seq AS close_seq, later.reopen_seq AS reopen_seq,
            later.closed_at AS closed_at, {d.key_date("later.due_key")} AS due_date,
            {d.key_integer("later.dept_key")} AS department, v.complete AS complete, v.missing AS missing
        FROM (
            SELECT c.id AS id, c.region_id AS region_id, c.number AS number,
                COUNT(*) AS n, MAX(e.seq) AS top,
                MAX(CASE WHEN {closing} THEN e.seq END) AS close_seq,
                MAX(CASE WHEN e.action = 'reopen' THEN e.seq END) AS reopen_seq,
                MAX(CASE WHEN {closing} THEN e.occurred_at END) AS closed_at,
                {d.latest_date_key("e.seq", "e.due_date")} AS due_key,
                {
        d.text_max(
            f"CASE WHEN e.action IN {sql_in(ROUTING_ACTIONS)} THEN {d.seq_key()} || {department} "
            f"WHEN e.action IN {sql_in(UNROUTING_ACTIONS)} THEN {d.seq_key()} END"
        )
    } AS dept_key
            FROM {heads} h {d.join_in_order} {cases} c ON c.id = h.case_id JOIN {entries} e ON e.case_id = c.id
            WHERE {_in_scope(region_count)} AND h.last_at >= %s AND e.occurred_at < %s
            GROUP BY c.id, c.region_id, c.number
        ) later
        LEFT JOIN {verdicts} v ON v.case_id = later.id AND v.through_seq = later.top AND later.n = later.top
    """


def classified_sql(d: Dialect, rows: str) -> str:
    """Each case of ``rows``: its class, and item 13's verdict on its chain as of the cutoff (if
    judged). Parameters: the last due date that makes an open case late (``Scope.late_through``:
    the cutoff, or yesterday when scoring as of today), then those of ``rows``."""
    closed_on = d.local_date("p.closed_at", settings.TIME_ZONE)
    as_text = (lambda column: f"{column}::text") if d.postgres else (lambda column: column)
    record = " || '|' || ".join(
        [
            as_text("p.id"),
            as_text("p.n"),
            as_text("p.top"),
            "p.number",
            f"(CASE WHEN p.complete IS NULL THEN '' ELSE {as_text('p.missing')} END)",
        ]
    )
    return f"""
        SELECT p.region_id AS region_id, p.department AS department,
            CASE
              WHEN p.close_seq IS NOT NULL AND p.close_seq > COALESCE(p.reopen_seq, 0) THEN
                CASE WHEN p.due_date IS NULL OR {closed_on} <= p.due_date
                     THEN '{ON_TIME}' ELSE '{CLOSED_LATE}' END
              WHEN p.due_date IS NOT NULL AND p.due_date <= %s THEN '{OPEN_LATE}'
              ELSE '{PENDING}'
            END AS klass,
            p.number AS number,
            CASE WHEN p.complete THEN 1 ELSE 0 END AS judged_complete,
            CASE WHEN p.complete THEN NULL ELSE {record} END AS ledger_record
        FROM ({rows}) p
    """


def grouped_sql(d: Dialect, region_count: int) -> str:
    """Rows per region and department at the cutoff (one from each half): the on-time count, the
    numbers of the cases closed late, open and late, and pending, how many have a 'complete'
    ledger verdict, and the others for item 13 to judge. Each half is grouped on its own, so the
    large one streams from its join; grouping by plain columns lets the planner see how few
    groups there are."""

    def numbers(klass: str) -> str:
        return d.joined(f"CASE WHEN klass = '{klass}' THEN number END")

    def grouped(rows: str) -> str:
        return f"""
            SELECT region_id, department, SUM(CASE WHEN klass = '{ON_TIME}' THEN 1 ELSE 0 END),
                   {numbers(CLOSED_LATE)}, {numbers(OPEN_LATE)}, {numbers(PENDING)},
                   SUM(judged_complete), {d.joined("ledger_record", separator=";")}
            FROM ({classified_sql(d, rows)}{d.evaluate_once}) classified
            GROUP BY region_id, department
        """

    return f"{grouped(from_heads_sql(d, region_count))} UNION ALL {grouped(from_entries_sql(d, region_count))}"


def params_for(scope: Scope, region_ids: list[int]) -> list:
    start, end = dt_param(scope.start), dt_param(scope.end)
    late_through = connection.ops.adapt_datefield_value(scope.late_through)
    return [late_through, *region_ids, start, end, end, late_through, *region_ids, start, end, end, end]


def timeliness_for_regions(
    region_ids: list[int], scope: Scope
) -> tuple[dict[int, Timeliness], dict[int, dict[int | None, Timeliness]]]:
    """({region id: Timeliness}, {region id: {department id or None: Timeliness}}) in one query.

    A region and department may come in two rows (one from each half): they are merged."""
    regions = {pk: Timeliness() for pk in region_ids}
    departments: dict[int, dict[int | None, Timeliness]] = {pk: defaultdict(Timeliness) for pk in region_ids}
    if not region_ids:
        return regions, departments
    d = dialect_for(scope)
    with connection.cursor() as cursor:
        cursor.execute(grouped_sql(d, len(region_ids)), params_for(scope, region_ids))
        rows = cursor.fetchall()
    for region_id, department, on_time, closed_late, open_late, pending, judged_complete, records in rows:
        department_id = int(department) if department not in (None, "") else None
        part = Timeliness(
            on_time=int(on_time or 0),
            closed_late=_numbers(closed_late),
            open_late=_numbers(open_late),
            pending=_numbers(pending),
        )
        departments[region_id][department_id].merge(part)
        part.judged_complete, part.ledger_records = int(judged_complete or 0), _records(records)
        regions[region_id].merge(part)
    for timeliness in regions.values():
        timeliness.sort()
    for by_department in departments.values():
        for timeliness in by_department.values():
            timeliness.sort()
    return regions, {pk: dict(v) for pk, v in departments.items()}


def _numbers(joined: str | None) -> list[str]:
    return joined.split(",") if joined else []


def _records(joined: str | None) -> list[LedgerRecord]:
    if not joined:
        return []
    records = []
    for text in joined.split(";"):
        case_id, n, top, number, missing = text.split("|", 4)
        records.append(LedgerRecord(int(case_id), int(n), int(top), number, json.loads(missing) if missing else None))
    return records
