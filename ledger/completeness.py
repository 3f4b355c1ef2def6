"""Whether a case's ledger is complete (scoresheet item 13, SPEC §3).

Judged from the ledger alone, optionally as it stood at a moment (the scoring cutoff): every stage
the case reached must have its records, and its hash chain must verify with non-decreasing times.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

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
    """What this chain lacks; an empty list when complete. ``chain_problems``: what
    ``check_chain`` already found for these entries, so that a caller who has verified the chain
    does not hash it again."""
    missing: list[str] = []
    problems = chain_problems if chain_problems is not None else check_chain(number, entries)[0]
    if problems:
        missing.append("ledger_chain")
    create = next((e for e in entries if e.action == "create"), None)
    if create is None:
        missing.append("creation_record")
    else:
        for key, name in CREATE_FIELDS.items():
            value = create.payload.get(key)
            if key == "credit_code":
                if not value or not credit_code.is_valid(value):
                    missing.append(name)
            elif not value:
                missing.append(name)
    routed = False
    evidence_since_routing = 0
    closing = None
    pending_reason: str | None = None
    for entry in entries:
        if entry.action in (*ROUTING_ACTIONS, "reopen"):
            routed = True
            if entry.action != "reopen" and not entry.payload.get("department"):
                missing.append("department")
            evidence_since_routing = 0
            closing = None
        elif entry.action in CLOSING_ACTIONS:
            closing = entry
            evidence_since_routing += len(entry.payload.get("evidence") or [])
        elif entry.action == "evidence":
            evidence_since_routing += len(entry.payload.get("evidence") or [])
        elif entry.action == "request_extension":
            pending_reason = (entry.payload.get("reason") or "").strip()
        elif entry.action == "approve_extension" and not pending_reason:
            missing.append("extension_reason")
    state = entries[-1].to_state if entries else ""
    if state in ("assigned", "resolved", "explained") and not routed:
        missing.append("department")
    if closing is not None and state in ("resolved", "explained"):
        if not (closing.payload.get("result") or "").strip():
            missing.append("result")
        if evidence_since_routing < 1:
            missing.append("evidence")
    # Keep each reason once, in a stable order.
    return list(dict.fromkeys(missing))


def chains(case_ids: list[int], *, as_of: dt.datetime | None = None) -> dict[int, list[LedgerEntry]]:
    """{case id: its entries in order} (up to and including ``as_of``), every given case present."""
    entries = LedgerEntry.objects.filter(case_id__in=list(case_ids)).order_by("case_id", "seq")
    if as_of is not None:
        entries = entries.filter(occurred_at__lte=as_of)
    found: dict[int, list[LedgerEntry]] = {pk: [] for pk in case_ids}
    found.update(grouped_by_case(entries.iterator(chunk_size=5000)))
    return found


def missing_by_case(cases: Iterable, *, as_of: dt.datetime | None = None, chunk_size: int = 2000) -> dict[int, list[str]]:
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
