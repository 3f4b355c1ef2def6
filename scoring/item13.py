"""Item 13 — the ledger (企业问题台帐), SPEC §6 and §3.

A case's ledger is complete when ``ledger.completeness.lacks`` finds nothing missing in its
chain as it stood at the end of the cutoff day. Judging a chain means re-hashing every entry in
Python, which is too slow to repeat for a million cases on every page view; but entries are
immutable, so the verdict on a chain prefix (case, last seq, last hash) never changes. Verdicts
are kept in ``LedgerVerdict``: one query finds the cases in scope whose prefix has no good
verdict yet, only those chains are judged (by the ledger's own function), and their verdicts are
stored. ``tests/scoring/test_item13.py`` checks the result equals ``missing_by_case``.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from django.db import connection

from cases.models import Case
from ledger.completeness import lacks
from ledger.models import LedgerEntry

from .ladders import rate_str
from .models import LedgerVerdict
from .scope import Scope
from .sql import dialect_for, dt_param

JUDGE_CHUNK = 2000


@dataclass
class LedgerCompleteness:
    total: int = 0
    incomplete: list[tuple[str, list[str]]] = field(default_factory=list)  # (number, what it lacks)

    @property
    def complete(self) -> int:
        return self.total - len(self.incomplete)

    @property
    def rate(self) -> Fraction | None:
        return Fraction(self.complete, self.total) if self.total else None

    @property
    def rate_text(self) -> str | None:
        return rate_str(self.complete, self.total)

    def points(self, params: dict) -> Decimal:
        if not self.total:
            return Decimal(params.get("none_points", "0"))
        if self.rate >= Fraction(Decimal(params.get("threshold", "1"))):
            return Decimal(params.get("full_points", "4"))
        return Decimal(params.get("partial_points", "2"))


def _unjudged_sql(d, region_count: int) -> str:
    """Cases in scope whose prefix as of the cutoff has no 'complete' verdict: with the prefix's
    length, top seq and last hash, and the verdict if there is one (incomplete)."""
    cases = Case._meta.db_table
    entries = LedgerEntry._meta.db_table
    verdicts = LedgerVerdict._meta.db_table
    return f"""
        WITH prefix AS (
            SELECT c.id AS id, c.region_id AS region_id, c.number AS number,
                   COUNT(*) AS n, MAX(e.seq) AS top
            FROM {cases} c JOIN {entries} e ON e.case_id = c.id
            WHERE c.region_id IN ({", ".join(["%s"] * region_count)})
              AND c.received_at >= %s AND c.received_at < %s AND e.occurred_at < %s
            GROUP BY c.id, c.region_id, c.number
        )
        SELECT p.id, p.region_id, p.number, p.n, p.top, last.hash, v.missing
        FROM prefix p
        JOIN {entries} last ON last.case_id = p.id AND last.seq = p.top
        LEFT JOIN {verdicts} v
          ON v.case_id = p.id AND v.through_seq = p.top AND v.last_hash = last.hash AND p.n = p.top
        WHERE v.id IS NULL OR v.complete = %s
    """


def _judge(pending: list[tuple], scope: Scope) -> dict[int, list[str]]:
    """Run the ledger's own completeness check on each pending chain prefix; store the verdicts."""
    results: dict[int, list[str]] = {}
    for start in range(0, len(pending), JUDGE_CHUNK):
        chunk = pending[start : start + JUDGE_CHUNK]
        grouped: dict[int, list[LedgerEntry]] = defaultdict(list)
        entries = (
            LedgerEntry.objects.filter(case_id__in=[row[0] for row in chunk], occurred_at__lt=scope.end)
            .order_by("case_id", "seq")
        )
        for entry in entries.iterator(chunk_size=5000):
            grouped[entry.case_id].append(entry)
        verdicts = []
        for case_id, number, n, top, last_hash in chunk:
            # Only entries up to the prefix the query saw: a chain may grow while we judge it.
            chain = [e for e in grouped[case_id] if e.seq <= top]
            missing = lacks(number, chain)
            results[case_id] = missing
            if n == top and len(chain) == n:
                verdicts.append(LedgerVerdict(
                    case_id=case_id, through_seq=top, last_hash=last_hash, missing=missing, complete=not missing
                ))
        LedgerVerdict.objects.bulk_create(verdicts, ignore_conflicts=True)
    return results


def completeness_for_regions(region_ids: list[int], scope: Scope, totals: dict[int, int]) -> dict[int, LedgerCompleteness]:
    """{region id: LedgerCompleteness}. ``totals`` are the cases in scope per region (item 15's
    query counts the same scope), so only incomplete or not-yet-judged cases come back as rows."""
    result = {pk: LedgerCompleteness(total=totals.get(pk, 0)) for pk in region_ids}
    if not region_ids:
        return result
    d = dialect_for(scope)
    end = dt_param(scope.end)
    with connection.cursor() as cursor:
        cursor.execute(_unjudged_sql(d, len(region_ids)), [*region_ids, dt_param(scope.start), end, end, False])
        rows = cursor.fetchall()
    pending = []
    for case_id, region_id, number, n, top, last_hash, missing in rows:
        if missing is None:
            pending.append((case_id, number, n, top, last_hash))
            continue
        if isinstance(missing, str):
            import json

            missing = json.loads(missing)
        result[region_id].incomplete.append((number, missing))
    if pending:
        regions_of = {row[0]: row[1] for row in rows}
        numbers = {row[0]: row[2] for row in rows}
        for case_id, missing in _judge(pending, scope).items():
            if missing:
                result[regions_of[case_id]].incomplete.append((numbers[case_id], missing))
    for completeness in result.values():
        completeness.incomplete.sort()
    return result


def warm_verdicts(region_ids: list[int], scope: Scope) -> int:
    """Judge every chain prefix in scope that has no verdict yet; the number judged (beat task)."""
    d = dialect_for(scope)
    end = dt_param(scope.end)
    with connection.cursor() as cursor:
        cursor.execute(_unjudged_sql(d, len(region_ids)), [*region_ids, dt_param(scope.start), end, end, False])
        pending = [(r[0], r[2], r[3], r[4], r[5]) for r in cursor.fetchall() if r[6] is None]
    _judge(pending, scope)
    return len(pending)
