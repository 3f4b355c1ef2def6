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
checks the result equals ``missing_by_case``.

Tampering that bypasses the database's triggers reaches the score through the heads: before the
scan, ``reverify`` re-hashes every chain in scope whose head is not verified through its present
last entry (``ledger.integrity.verify_stale``: one index probe per head), and a chain found broken
— there, or by the full pass of ``verify_ledger`` and the daily checkpoint, which re-hash every
entry — counts as incomplete, lacking ``ledger_chain``, whatever its earlier verdicts said.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from django.utils import timezone

from cases.models import Case
from ledger import heads, integrity
from ledger.completeness import LACK_LABELS, chains, lacks

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
    def incomplete_labelled(self) -> list[tuple[str, list[str]]]:
        """``incomplete`` with what each case lacks in words an office reads."""
        return [(number, [str(LACK_LABELS.get(key, key)) for key in missing]) for number, missing in self.incomplete]

    @property
    def broken_chains(self) -> list[str]:
        """Numbers of the cases whose hash chain does not verify (台帐校验未通过)."""
        return [number for number, missing in self.incomplete if "ledger_chain" in missing]

    @property
    def rate_text(self) -> str | None:
        return rate_str(self.complete, self.total)

    def points(self, params: dict) -> Decimal:
        rate = self.rate
        if rate is None:  # no case in scope
            return Decimal(params.get("none_points", "0"))
        if rate >= Fraction(Decimal(params.get("threshold", "1"))):
            return Decimal(params.get("full_points", "4"))
        return Decimal(params.get("partial_points", "2"))


def reverify(region_ids: list[int], scope: Scope, *, now: dt.datetime | None = None) -> set[int]:
    """Before item 13 reads its verdicts: re-hash the chains in scope not verified through their
    present last entry, and return the ids of the chains in scope known to be broken. A broken
    chain's 'complete' verdict on its prefix predates the break: it is dropped, to be judged again."""
    cases = Case.objects.filter(region_id__in=region_ids, received_at__gte=scope.start, received_at__lt=scope.end)
    integrity.verify_stale(cases, now=now or timezone.now())
    broken = integrity.broken_case_ids(cases)
    if broken:
        LedgerVerdict.objects.filter(case_id__in=list(broken), complete=True).delete()
    return broken


def _with_chain(missing: list[str], case_id: int, broken: AbstractSet[int]) -> list[str]:
    return ["ledger_chain", *missing] if case_id in broken and "ledger_chain" not in missing else missing


def judge(records: list[LedgerRecord], scope: Scope, broken: AbstractSet[int] = frozenset()) -> dict[int, list[str]]:
    """Run the ledger's own completeness check on each chain prefix; store the verdicts."""
    results: dict[int, list[str]] = {}
    for start in range(0, len(records), JUDGE_CHUNK):
        chunk = records[start : start + JUDGE_CHUNK]
        grouped = chains([r.case_id for r in chunk], as_of=scope.as_of)
        verdicts = []
        for record in chunk:
            # Only entries up to the prefix the scan saw: a chain may grow while we judge it.
            chain = [e for e in grouped[record.case_id] if e.seq <= record.top]
            missing = _with_chain(lacks(record.number, chain), record.case_id, broken)
            results[record.case_id] = missing
            if record.n == record.top and len(chain) == record.n:
                verdicts.append(
                    LedgerVerdict(
                        case_id=record.case_id,
                        through_seq=record.top,
                        last_hash=chain[-1].hash,
                        missing=missing,
                        complete=not missing,
                    )
                )
        # A whole chain's verdict goes onto its head; a prefix's (the chain goes on past the
        # cutoff) into LedgerVerdict.
        on_heads = heads.record_verdicts([(v.case_id, v.through_seq, v.missing) for v in verdicts])
        LedgerVerdict.objects.bulk_create([v for v in verdicts if v.case_id not in on_heads], ignore_conflicts=True)
    return results


def completeness_from_scan(
    timeliness: dict[int, Timeliness], scope: Scope, broken: AbstractSet[int] = frozenset()
) -> dict[int, LedgerCompleteness]:
    """{region id: LedgerCompleteness} from item 15's scan (same scope, after ``reverify`` found
    the ``broken`` chains), judging what is new."""
    result = {pk: LedgerCompleteness(total=t.in_scope) for pk, t in timeliness.items()}
    unjudged = [(pk, r) for pk, t in timeliness.items() for r in t.ledger_records if r.missing is None]
    judged = judge([r for _pk, r in unjudged], scope, broken) if unjudged else {}
    for pk, t in timeliness.items():
        for record in t.ledger_records:
            missing = record.missing if record.missing is not None else judged[record.case_id]
            missing = _with_chain(missing, record.case_id, broken)
            if missing:
                result[pk].incomplete.append((record.number, list(missing)))
        result[pk].incomplete.sort()
    return result


def completeness_for_regions(region_ids: list[int], scope: Scope) -> dict[int, LedgerCompleteness]:
    broken = reverify(region_ids, scope)
    timeliness, _departments = timeliness_for_regions(region_ids, scope)
    return completeness_from_scan(timeliness, scope, broken)


def warm_verdicts(region_ids: list[int], scope: Scope) -> int:
    """Judge every chain prefix in scope that has no verdict yet; the number judged (beat task)."""
    broken = reverify(region_ids, scope)
    timeliness, _departments = timeliness_for_regions(region_ids, scope)
    records = [r for t in timeliness.values() for r in t.ledger_records if r.missing is None]
    judge(records, scope, broken)
    return len(records)
