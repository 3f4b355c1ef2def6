"""Appending to the ledger. Called inside the transaction of the change being recorded."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from . import heads
from .chain import check_chain, link
from .completeness import judged, lacks_after
from .instances import unsaved
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
    """Append one entry to the case's chain, and move the case's head onto it with the chain's
    completeness verdict (``completeness.lacks``, scoresheet item 13).

    The caller holds the case row lock (``select_for_update``), so reading the head and the last
    entry and inserting the next one cannot interleave with another writer; the unique (case, seq)
    constraint is the backstop.

    O(1) in the chain's length: four statements (read the head, read the chain's last entry, insert,
    update the head), whatever the chain's length. The head carries what the verdict and the next
    link need: the last entry's seq and hash (``verified_seq``/``verified_hash``, the chain verified
    through it) and the fold of the chain's stages (``stages``, ``completeness.stages_of``), which
    is stepped by the new entry. What this cheap path checks of the stored chain, and what it
    leaves to the full pass (``verify_ledger``, daily), is in ``_tail_problem`` and ARCHITECTURE.md.

    The whole chain is read and re-hashed instead, as before the head carried the fold, when the
    head cannot vouch for it: no head yet; a head without the fold (rebuilt from the entries by
    ``heads.rebuild``, or from before migration 0007) — once, the head then carries it; a chain
    recorded broken (``chain_ok`` not true) — on every append while it is; or a last entry that
    fails the tail check — which that append records as a break besides what ``check_chain`` finds.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger.append must run inside the transaction of the change it records")
    now = recorded_at or timezone.now()
    fields = dict(
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
    head = LedgerHead.objects.filter(case_id=case.pk).first()
    if head is not None and _vouches(head):
        # one row by the unique (case, seq) index
        previous = next(iter(LedgerEntry.objects.filter(case_id=case.pk, seq=head.seq).order_by()[:1]), None)
        tail_problem = _tail_problem(case.number, head, previous)
        if previous is not None and tail_problem is None:
            entry = next_entry(case, previous, **fields)
            problems = [] if entry.occurred_at >= previous.occurred_at else [_late(entry)]
            judged = lacks_after(head.stages, entry, chain_problems=problems)
            if judged is not None:
                entry.save(force_insert=True)
                heads.advance(case, entry, judged[0], stages=judged[1])
                return entry
        return _append_reading_the_chain(case, fields, extra_problems=[tail_problem] if tail_problem else [])
    return _append_reading_the_chain(case, fields)


def _vouches(head: LedgerHead) -> bool:
    """Whether the head alone can judge the chain's next entry: it carries the fold of the chain's
    stages, and the chain verified through its last entry when the head was last moved."""
    return head.stages is not None and head.chain_ok is True and head.verified_seq == head.seq


def _tail_problem(number: str, head: LedgerHead, previous: LedgerEntry | None) -> str | None:
    """The O(1) tamper check on append: the chain's last entry (``previous``, read by its unique
    (case, seq)) is still the entry the head was verified through — present, with the hash the head
    remembers — and its hash still matches its content. What it catches: the last entry removed,
    rewritten (hash kept or recomputed), or rewritten anywhere with hashes recomputed to the end of
    the chain (the last hash changes). What waits for the full pass (``verify_ledger``, daily): an
    earlier entry rewritten or removed while the last one stands (its own hash or its successor's
    prev_hash no longer matches, which only re-hashing the chain shows)."""
    if previous is None:
        return f"entry #{head.seq}, the chain's last when its head was verified, is gone"
    if previous.hash != head.verified_hash:
        return f"entry #{previous.seq} is no longer the entry verified on {head.verified_at:%Y-%m-%d %H:%M}"
    if previous.expected_hash(number) != previous.hash:
        return f"entry #{previous.seq} ({previous.action}): hash does not match its content"
    return None


def _late(entry: LedgerEntry) -> str:
    # check_chain's words for the same problem
    return f"entry #{entry.seq} ({entry.action}): occurred before the entry preceding it"


def _append_reading_the_chain(case, fields: dict, *, extra_problems: list[str] | None = None) -> LedgerEntry:
    """``append`` by the whole chain: linked after its stored last entry, re-hashed and judged in
    full (``check_chain``, ``lacks``; ``extra_problems``: what the tail check found besides), and
    the head given the fold of the chain's stages, so that its next append is O(1)."""
    chain = list(LedgerEntry.objects.filter(case=case).order_by("seq"))
    entry = next_entry(case, chain[-1] if chain else None, **fields)
    entry.save(force_insert=True)
    chain.append(entry)
    problems = check_chain(case.number, chain)[0] + (extra_problems or [])
    missing, stages = judged(chain, problems)
    heads.advance(case, entry, missing, stages=stages)
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
    entry = unsaved(
        LedgerEntry,
        {"case": case, "actor": actor if actor is not None and actor.pk else None},
        action=action,
        from_state=from_state or "",
        to_state=to_state or "",
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
    saved): the chain's replayed facts, the completeness verdict and the fold of the chain's stages
    (so that the case's next ``append`` reads the head, not the chain), verified through its last entry."""
    # The chain was linked by ``next_entry`` a moment ago: its hashes are its content's, so only
    # its links and the order of its times are checked (hashing every entry twice cost the bulk
    # import a sixth of its time); ``verify_ledger`` re-hashes what was written.
    problems, replay = check_chain(case.number, chain, rehash=False)
    missing, stages = judged(chain, problems)
    last = chain[-1]
    return unsaved(
        LedgerHead,
        {"case": case},
        **{k: v for k, v in replay.head.items() if k != "case_id"},
        complete=not missing,
        missing=missing,
        verified_seq=last.seq,
        verified_hash=last.hash,
        verified_at=last.recorded_at,
        chain_ok=not problems,
        stages=stages,
    )


def entries_for(case):
    return LedgerEntry.objects.filter(case=case).select_related("actor").order_by("seq")
