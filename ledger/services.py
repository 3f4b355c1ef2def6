"""Appending to the ledger. Called inside the transaction of the change being recorded."""
from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from . import heads
from .chain import link
from .completeness import lacks
from .models import LedgerEntry, Source


def append(
    case,
    *,
    action: str,
    actor=None,
    from_state: str = "",
    to_state: str = "",
    payload: dict | None = None,
    occurred_at: dt.datetime | None = None,
    recorded_at: dt.datetime | None = None,
    source: str = Source.WEB,
    due_date: dt.date | None = None,
) -> LedgerEntry:
    """Append one entry to the case's chain.

    The caller holds the case row lock (``select_for_update``), so reading the last entry and
    inserting the next one cannot interleave with another writer; the unique (case, seq)
    constraint is the backstop.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger.append must run inside the transaction of the change it records")
    now = recorded_at or timezone.now()
    chain = list(LedgerEntry.objects.filter(case=case).order_by("seq"))
    entry = LedgerEntry(
        case=case,
        action=action,
        from_state=from_state or "",
        to_state=to_state or "",
        actor=actor if actor is not None and actor.pk else None,
        actor_name=actor.get_username() if actor is not None else "system",
        occurred_at=occurred_at or now,
        recorded_at=now,
        source=source,
        due_date=due_date,
        payload=payload or {},
    )
    link(case.number, entry, chain[-1] if chain else None)
    entry.save(force_insert=True)
    heads.advance(case, entry, lacks(case.number, [*chain, entry]))
    return entry


def entries_for(case):
    return LedgerEntry.objects.filter(case=case).select_related("actor").order_by("seq")
