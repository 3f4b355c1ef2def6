"""Appending to the ledger. Called inside the transaction of the change being recorded."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from . import heads
from .chain import check_chain, link
from .completeness import lacks
from .models import LedgerEntry, LedgerHead, Source


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
    entry = next_entry(
        case,
        chain[-1] if chain else None,
        action=action,
        actor=actor,
        from_state=from_state,
        to_state=to_state,
        payload=payload,
        occurred_at=occurred_at or now,
        recorded_at=now,
        source=source,
        due_date=due_date,
    )
    entry.save(force_insert=True)
    heads.advance(case, entry, lacks(case.number, [*chain, entry]))
    return entry


def next_entry(
    case,
    previous: LedgerEntry | None,
    *,
    action: str,
    actor,
    from_state: str = "",
    to_state: str = "",
    payload: dict | None = None,
    occurred_at: dt.datetime,
    recorded_at: dt.datetime,
    source: str,
    due_date: dt.date | None = None,
) -> LedgerEntry:
    """The entry that follows ``previous`` (None: the chain's first) on the case's chain, linked
    and hashed (``chain.link``), not saved. ``append`` saves it; the bulk import
    (``cases.importing.bulk``) writes many at once, so both chain and hash entries by this one
    function."""
    entry = LedgerEntry(
        case=case,
        action=action,
        from_state=from_state or "",
        to_state=to_state or "",
        actor=actor if actor is not None and actor.pk else None,
        actor_name=actor.get_username() if actor is not None else "system",
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        source=source,
        due_date=due_date,
        payload=payload or {},
    )
    return link(case.number, entry, previous)


def new_head(case, chain: list[LedgerEntry]) -> LedgerHead:
    """The head ``append`` leaves after writing ``chain`` entry by entry onto a new case (not
    saved): the chain's replayed facts, the completeness verdict, verified through its last entry."""
    problems, replay = check_chain(case.number, chain)
    missing = lacks(case.number, chain, chain_problems=problems)
    last = chain[-1]
    return LedgerHead(
        case=case,
        **{k: v for k, v in replay.head.items() if k != "case_id"},
        complete=not missing,
        missing=missing,
        verified_seq=last.seq,
        verified_hash=last.hash,
        verified_at=last.recorded_at,
        chain_ok=not problems,
    )


def entries_for(case):
    return LedgerEntry.objects.filter(case=case).select_related("actor").order_by("seq")
