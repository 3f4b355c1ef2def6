"""Whether a case's ledger is complete (scoresheet item 13, SPEC §3).

Judged from the ledger alone, optionally as it stood at a moment (the scoring cutoff): every stage
the case reached must have its records, and its hash chain must verify with non-decreasing times.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy

from . import credit_code
from .chain import check_chain, grouped_by_case
from .heads import CLOSING_ACTIONS, ROUTING_ACTIONS
from .models import LedgerEntry

# What a case lacks, in words an office reads (the case page, item 13's page).
LACK_LABELS = {
    "ledger_chain": gettext_lazy("the ledger's hash chain does not verify"),
    "creation_record": gettext_lazy("the record of receipt"),
    "enterprise_name": gettext_lazy("enterprise name"),
    "credit_code": gettext_lazy("a valid unified social credit code"),
    "category": gettext_lazy("problem category"),
    "channel": gettext_lazy("channel"),
    "description": gettext_lazy("problem description"),
    "received_at": gettext_lazy("time of receipt"),
    "department": gettext_lazy("responsible department and time of routing"),
    "result": gettext_lazy("handling result"),
    "evidence": gettext_lazy("evidence (at least one item)"),
    "extension_reason": gettext_lazy("reason of the approved extension"),
}

# What the lists say a case lacks; the pages show them through LACK_LABELS.
CREATE_FIELDS = {
    "enterprise": "enterprise_name",
    "credit_code": "credit_code",
    "category": "category",
    "channel": "channel",
    "description": "description",
    "received_at": "received_at",
}


def lacks(number: str, entries: list[LedgerEntry], *, chain_problems: list[str] | None = None) -> list[str]:
    """What this chain lacks (keys of ``LACK_LABELS``); an empty list when complete.
    ``chain_problems``: what ``check_chain`` already found for these entries, so that a caller who
    has verified the chain does not hash it again.

    Each lack is listed once, in the order the chain shows it: the chain and the receipt first,
    then a lapse at the entry where it happened, then what the case's current stage still lacks."""
    problems = chain_problems if chain_problems is not None else check_chain(number, entries)[0]
    stages = _Stages.read(entries, problems)
    found = sorted((lack for check in STAGES.values() for lack in check(stages)), key=lambda lack: lack[0])
    return list(dict.fromkeys(key for _, key in found))


# Where a lack shows in the chain: before its first entry, at an entry's index, or at its end.
BEFORE, END = -1, float("inf")
Lack = tuple[float, str]


@dataclass
class _Stages:
    """One walk over a chain: the records of each stage it reached."""

    problems: list[str]  # what check_chain found
    state: str = ""  # where the chain leads
    create: LedgerEntry | None = None  # the record of receipt
    routed: bool = False  # ever assigned (or reopened)
    routings: list[tuple[int, LedgerEntry]] = field(default_factory=list)  # (index, assign/reassign)
    closing: LedgerEntry | None = None  # the latest closing since the last routing or reopening
    evidence: int = 0  # evidence items since the last routing or reopening
    approvals: list[tuple[int, str]] = field(default_factory=list)  # (index, the reason it approved)

    @classmethod
    def read(cls, entries: list[LedgerEntry], problems: list[str]) -> _Stages:
        stages = cls(problems, state=entries[-1].to_state if entries else "")
        stages.create = next((e for e in entries if e.action == "create"), None)
        pending_reason = ""
        for at, entry in enumerate(entries):
            if entry.action in (*ROUTING_ACTIONS, "reopen"):
                # A new round of handling: its result and evidence start afresh.
                stages.routed, stages.closing, stages.evidence = True, None, 0
                if entry.action != "reopen":
                    stages.routings.append((at, entry))
            elif entry.action == "request_extension":
                pending_reason = (entry.payload.get("reason") or "").strip()
            elif entry.action == "approve_extension":
                stages.approvals.append((at, pending_reason))
            if entry.action in CLOSING_ACTIONS:
                stages.closing = entry
            if entry.action in (*CLOSING_ACTIONS, "evidence"):
                stages.evidence += len(entry.payload.get("evidence") or [])
        return stages


def _verifies(stages: _Stages) -> Iterator[Lack]:
    """The hash chain verifies, with non-decreasing times (``check_chain``)."""
    if stages.problems:
        yield BEFORE, "ledger_chain"


def _received(stages: _Stages) -> Iterator[Lack]:
    """Received: enterprise name, a valid credit code, category, channel, description, received_at."""
    if stages.create is None:
        yield BEFORE, "creation_record"
        return
    for key, name in CREATE_FIELDS.items():
        value = stages.create.payload.get(key)
        if not value or (key == "credit_code" and not credit_code.is_valid(value)):
            yield BEFORE, name


def _assigned(stages: _Stages) -> Iterator[Lack]:
    """Assigned: the responsible department (the time is the entry's own)."""
    for at, routing in stages.routings:
        if not routing.payload.get("department"):
            yield at, "department"
    if stages.state in ("assigned", "resolved", "explained") and not stages.routed:
        yield END, "department"


def _closed(stages: _Stages) -> Iterator[Lack]:
    """Resolved / explained: the result text and at least one evidence item."""
    if stages.closing is None or stages.state not in ("resolved", "explained"):
        return
    if not (stages.closing.payload.get("result") or "").strip():
        yield END, "result"
    if stages.evidence < 1:
        yield END, "evidence"


def _extended(stages: _Stages) -> Iterator[Lack]:
    """An approved extension: its reason."""
    for at, reason in stages.approvals:
        if not reason:
            yield at, "extension_reason"


# SPEC §3: a case's ledger is complete when every stage it reached has its records.
STAGES: dict[str, Callable[[_Stages], Iterator[Lack]]] = {
    "hash chain": _verifies,
    "received": _received,
    "assigned": _assigned,
    "resolved / explained": _closed,
    "approved extension": _extended,
}


def chains(case_ids: list[int], *, as_of: dt.datetime | None = None) -> dict[int, list[LedgerEntry]]:
    """{case id: its entries in order} (up to and including ``as_of``), every given case present."""
    entries = LedgerEntry.objects.filter(case_id__in=list(case_ids)).order_by("case_id", "seq")
    if as_of is not None:
        entries = entries.filter(occurred_at__lte=as_of)
    found: dict[int, list[LedgerEntry]] = {pk: [] for pk in case_ids}
    found.update(grouped_by_case(entries.iterator(chunk_size=5000)))
    return found


def missing_by_case(
    cases: Iterable, *, as_of: dt.datetime | None = None, chunk_size: int = 2000
) -> dict[int, list[str]]:
    """{case id: what it lacks} for every given case that is incomplete."""
    ids_numbers = [(c.pk, c.number) if hasattr(c, "pk") else c for c in cases]
    result: dict[int, list[str]] = {}
    for start in range(0, len(ids_numbers), chunk_size):
        chunk = dict(ids_numbers[start : start + chunk_size])
        for pk, entries_of_case in chains(list(chunk), as_of=as_of).items():
            missing = lacks(chunk[pk], entries_of_case)
            if missing:
                result[pk] = missing
    return result


def missing_for_case(case, *, as_of: dt.datetime | None = None) -> list[str]:
    return missing_by_case([(case.pk, case.number)], as_of=as_of).get(case.pk, [])
