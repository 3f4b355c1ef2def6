"""Re-hashing chains and recording the outcome on their heads, so the score sees a broken chain.

The database refuses UPDATE and DELETE on ledger entries, but someone with DDL rights can drop
the triggers, rewrite an entry and put them back. What each check catches:

* ``ledger.services.append`` reads the head and the chain's last entry only (O(1)): it checks that
  this entry is still the one the head was verified through (same hash) and that its hash matches
  its content, links the new entry to it, and records on the head the entry it verified through
  (``verified_seq``, ``verified_hash``) and ``chain_ok``. A head that cannot vouch for its chain
  (no fold of its stages, ``chain_ok`` not true) makes ``append`` re-hash the whole chain once.
  So the last entry removed or rewritten, or any entry rewritten with hashes recomputed to the
  end, is found by the next append; an earlier entry rewritten or removed while the last one
  stands, only by a full pass.
* Before scoring, ``verify_stale`` re-hashes the chains whose heads were never verified (rebuilt
  from the entries, or older than verification), found through a partial index: on a ledger only
  ``append`` writes there are none, and scoring stays as fast as before.
* A rewrite behind the triggers' back is only visible by reading and re-hashing the entries:
  the full pass (``verify_ledger``, and the daily checkpoint task) re-hashes every chain and
  compares the entry each head was verified through with the hash it remembers (which also
  catches a rewrite whose hashes were recomputed to the end of the chain, and a deleted last
  entry), and records the outcome here. From then on, scoring counts the chain incomplete.

A chain that fails is recorded ``chain_ok`` false with the verdict ``ledger_chain`` (item 13:
incomplete) until an append or a pass finds it verifying again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from .chain import check_chain
from .completeness import chains, lacks
from .models import LedgerEntry, LedgerHead
from .verify import verify_cases

UPDATE_FIELDS = ["verified_seq", "verified_hash", "verified_at", "chain_ok", "complete", "missing"]
BATCH = 500


def _in(case_queryset, case_ids: list[int]) -> list[int]:
    """Those of ``case_ids`` that ``case_queryset`` holds (asked in batches)."""
    found: list[int] = []
    for start in range(0, len(case_ids), BATCH):
        found += case_queryset.filter(pk__in=case_ids[start : start + BATCH]).values_list("pk", flat=True)
    return found


def stale_case_ids(case_queryset) -> list[int]:
    """Ids of the cases (of ``case_queryset``) whose head has never been verified: rebuilt from the
    entries, or older than verification. Read through a partial index: nothing to read on a
    ledger that only ``append`` writes."""
    return _in(
        case_queryset, list(LedgerHead.objects.filter(verified_seq__isnull=True).values_list("case_id", flat=True))
    )


def broken_case_ids(case_queryset) -> set[int]:
    """Cases (of ``case_queryset``) whose chain the last verification found broken (partial index)."""
    return set(_in(case_queryset, list(LedgerHead.objects.filter(chain_ok=False).values_list("case_id", flat=True))))


class Recorder:
    """Collects verification outcomes and writes them onto the heads in batches.

    Only what changed is written row by row; heads that verify as before get ``verified_at`` in
    one UPDATE per batch."""

    def __init__(self, now: dt.datetime):
        self.now = now
        self.heads: dict[int, LedgerHead] = {}
        self.changed: list[LedgerHead] = []
        self.unchanged: list[int] = []
        self.broken: list[int] = []

    def load(self, case_ids: Iterable[int]) -> None:
        self.heads.update(
            (h.case_id, h)
            for h in LedgerHead.objects.filter(case_id__in=list(case_ids)).only(
                "case_id", "seq", "complete", "missing", *UPDATE_FIELDS[:4]
            )
        )

    def record(self, case_id: int, number: str, entries: list[LedgerEntry], problems: list[str]) -> list[str]:
        """``problems``: ``check_chain``'s on ``entries``, the case's whole chain in order. Returns
        what else is wrong: the entry the head was last verified through is gone or has another
        hash (entries never change, so it was rewritten — perhaps with hashes recomputed so that
        the chain verifies on its own)."""
        head = self.heads.get(case_id)
        if head is None:
            return []  # no head to record on: verify_ledger reports it
        extra = []
        if head.verified_seq:
            verified_entry = next((e for e in entries if e.seq == head.verified_seq), None)
            if verified_entry is None or verified_entry.hash != head.verified_hash:
                extra.append(
                    f"entry #{head.verified_seq} is no longer the entry verified on "
                    f"{head.verified_at:%Y-%m-%d %H:%M} (rewritten or removed)"
                )
        problems = problems + extra
        ok = not problems
        last = entries[-1] if entries else None
        verified: tuple[int | None, str, bool]  # (seq, hash, chain verifies)
        verdict: tuple[bool | None, list[str]]  # (complete, what it lacks)
        if ok:
            verified = (last.seq if last else None, last.hash if last else "", ok)
        else:
            # Keep the last hash known good: the chain stays broken until an honest append.
            self.broken.append(case_id)
            verified = (head.verified_seq, head.verified_hash, ok)
        if not ok or head.chain_ok is False:
            # The verdict on the head's chain (through its seq) as the chain now is.
            missing = lacks(number, [e for e in entries if e.seq <= head.seq], chain_problems=problems)
            verdict = (not missing, missing)
        else:
            verdict = (head.complete, head.missing)
        if (head.verified_seq, head.verified_hash, head.chain_ok) == verified and (
            head.complete,
            head.missing,
        ) == verdict:
            self.unchanged.append(case_id)
        else:
            head.verified_seq, head.verified_hash, head.chain_ok = verified
            head.complete, head.missing = verdict
            head.verified_at = self.now
            self.changed.append(head)
        if len(self.unchanged) + len(self.changed) >= BATCH:
            self.flush()
        return extra

    def flush(self) -> None:
        if self.unchanged:
            LedgerHead.objects.filter(case_id__in=self.unchanged).update(verified_at=self.now)
        if self.changed:
            LedgerHead.objects.bulk_update(self.changed, UPDATE_FIELDS, batch_size=BATCH)
        for case_id in self.unchanged:
            self.heads.pop(case_id, None)
        for head in self.changed:
            self.heads.pop(head.case_id, None)
        self.unchanged, self.changed = [], []


def verify_chains(cases: list[tuple[int, str]], *, now: dt.datetime, chunk_size: int = 2000) -> list[int]:
    """Re-hash these chains ((case id, number) pairs) and record the outcome on their heads; the
    ids of the broken ones."""
    recorder = Recorder(now)
    for start in range(0, len(cases), chunk_size):
        chunk = dict(cases[start : start + chunk_size])
        recorder.load(chunk)
        for case_id, entries in chains(list(chunk)).items():
            recorder.record(case_id, chunk[case_id], entries, check_chain(chunk[case_id], entries)[0])
        recorder.flush()
    return recorder.broken


def verify_stale(case_queryset, *, now: dt.datetime) -> list[int]:
    """Re-hash the chains whose heads were never verified (see ``stale_case_ids``); the ids found
    broken."""
    stale = stale_case_ids(case_queryset)
    if not stale:
        return []
    numbers: dict[int, str] = {}
    for start in range(0, len(stale), BATCH):
        numbers.update(
            case_queryset.model.objects.filter(pk__in=stale[start : start + BATCH]).values_list("pk", "number")
        )
    return verify_chains(sorted(numbers.items()), now=now)


def verify_all(case_queryset, *, now: dt.datetime) -> list:
    """The full pass: re-hash every chain of ``case_queryset``, record each outcome on its head,
    and return ``verify_cases``' reports (chains, case rows and heads that disagree)."""
    return list(verify_cases(case_queryset, recorder=Recorder(now)))
