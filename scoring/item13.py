"""Item 13 — the ledger (企业问题台帐), SPEC §6 and §3.

A case's ledger is complete when ``ledger.completeness.lacks`` finds nothing missing in its
chain as it stood at the end of the cutoff day. Judging a chain means re-hashing every entry in
Python, which is too slow to repeat for a million cases on every page view; but ledger entries
are immutable (the database refuses UPDATE and DELETE), so the verdict on a chain prefix — a case
and its first ``top`` entries — never changes. ``ledger.services.append`` judges each chain as it
grows and keeps the verdict on the chain's ``LedgerHead``; a chain that goes on past the cutoff is
judged as of the cutoff and that verdict kept in ``LedgerVerdict``. Item 15's scan of the ledger
(one query) reads both and tells, per region, how many cases in scope are complete and lists the
others; only chains never judged (heads rebuilt from entries, prefixes not seen before) are judged
here, by the ledger's own function, and their verdicts stored. ``tests/scoring/test_generate_load.py``
checks the result equals ``missing_by_case``. (Tampering that bypasses the database's triggers is
for ``manage.py verify_ledger`` to find; it also checks every head's verdict.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from ledger import heads
from ledger.completeness import chains, lacks

from .item15 import LedgerRecord, Timeliness, timeliness_for_regions
from .ladders import fraction_or_none, rate_str
from .models import LedgerVerdict
from .scope import Scope

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
        return fraction_or_none(self.complete, self.total)

    @property
    def rate_text(self) -> str | None:
        return rate_str(self.complete, self.total)

    def points(self, params: dict) -> Decimal:
        if not self.total:
            return Decimal(params.get("none_points", "0"))
        if self.rate >= Fraction(Decimal(params.get("threshold", "1"))):
            return Decimal(params.get("full_points", "4"))
        return Decimal(params.get("partial_points", "2"))


def judge(records: list[LedgerRecord], scope: Scope) -> dict[int, list[str]]:
    """Run the ledger's own completeness check on each chain prefix; store the verdicts."""
    results: dict[int, list[str]] = {}
    for start in range(0, len(records), JUDGE_CHUNK):
        chunk = records[start : start + JUDGE_CHUNK]
        grouped = chains([r.case_id for r in chunk], as_of=scope.as_of)
        verdicts = []
        for record in chunk:
            # Only entries up to the prefix the scan saw: a chain may grow while we judge it.
            chain = [e for e in grouped[record.case_id] if e.seq <= record.top]
            missing = lacks(record.number, chain)
            results[record.case_id] = missing
            if record.n == record.top and len(chain) == record.n:
                verdicts.append(LedgerVerdict(case_id=record.case_id, through_seq=record.top,
                                              last_hash=chain[-1].hash, missing=missing, complete=not missing))
        # A whole chain's verdict goes onto its head; a prefix's (the chain goes on past the
        # cutoff) into LedgerVerdict.
        on_heads = heads.record_verdicts([(v.case_id, v.through_seq, v.missing) for v in verdicts])
        LedgerVerdict.objects.bulk_create([v for v in verdicts if v.case_id not in on_heads], ignore_conflicts=True)
    return results


def completeness_from_scan(timeliness: dict[int, Timeliness], scope: Scope) -> dict[int, LedgerCompleteness]:
    """{region id: LedgerCompleteness} from item 15's scan (same scope), judging what is new."""
    result = {pk: LedgerCompleteness(total=t.in_scope) for pk, t in timeliness.items()}
    unjudged = [(pk, r) for pk, t in timeliness.items() for r in t.ledger_records if r.missing is None]
    judged = judge([r for _pk, r in unjudged], scope) if unjudged else {}
    for pk, t in timeliness.items():
        for record in t.ledger_records:
            missing = record.missing if record.missing is not None else judged[record.case_id]
            if missing:
                result[pk].incomplete.append((record.number, list(missing)))
        result[pk].incomplete.sort()
    return result


def completeness_for_regions(region_ids: list[int], scope: Scope) -> dict[int, LedgerCompleteness]:
    timeliness, _departments = timeliness_for_regions(region_ids, scope)
    return completeness_from_scan(timeliness, scope)


def warm_verdicts(region_ids: list[int], scope: Scope) -> int:
    """Judge every chain prefix in scope that has no verdict yet; the number judged (beat task)."""
    timeliness, _departments = timeliness_for_regions(region_ids, scope)
    records = [r for t in timeliness.values() for r in t.ledger_records if r.missing is None]
    judge(records, scope)
    return len(records)
