"""A case's hash chain: checking it entry by entry, and reading chains case by case."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .heads import Replay, replay
from .models import GENESIS_HASH, LedgerEntry


def link(number: str, entry: LedgerEntry, previous: LedgerEntry | None) -> LedgerEntry:
    """Make ``entry`` the next of the chain of case ``number`` whose last entry is ``previous``
    (None: the first): its seq, the previous hash, and its own hash over its fields."""
    entry.seq, entry.prev_hash = (previous.seq + 1, previous.hash) if previous is not None else (1, GENESIS_HASH)
    entry.hash = entry.expected_hash(number)
    return entry


def check_chain(number: str, entries: Iterable[LedgerEntry], *, rehash: bool = True) -> tuple[list[str], Replay]:
    """Problems with one case's chain (first broken entry only), and the replayed end state.

    ``rehash=False`` checks the links (sequence, ``prev_hash``) and the order of times but does
    not hash each entry's content again: only for a chain ``link`` has just built in memory, whose
    hashes are its content's by construction (``ledger.services.new_head``)."""
    problems: list[str] = []
    verified: list[LedgerEntry] = []
    prev_hash = GENESIS_HASH
    expected_seq = 1
    last_time = None
    for entry in entries:
        if entry.seq != expected_seq:
            problems.append(f"sequence gap: expected #{expected_seq}, found #{entry.seq}")
            break
        if entry.prev_hash != prev_hash:
            problems.append(f"entry #{entry.seq} ({entry.action}): prev_hash does not match entry #{entry.seq - 1}")
            break
        if rehash and entry.expected_hash(number) != entry.hash:
            problems.append(f"entry #{entry.seq} ({entry.action}): hash does not match its content")
            break
        if last_time is not None and entry.occurred_at < last_time:
            problems.append(f"entry #{entry.seq} ({entry.action}): occurred before the entry preceding it")
            break
        last_time = entry.occurred_at
        verified.append(entry)
        prev_hash = entry.hash
        expected_seq += 1
    if not verified and not problems:
        problems.append("no ledger entries")
    return problems, replay(verified)


def grouped_by_case(entries: Iterator[LedgerEntry]) -> Iterator[tuple[int, list[LedgerEntry]]]:
    current: int | None = None
    batch: list[LedgerEntry] = []
    for entry in entries:
        if entry.case_id != current:
            if current is not None:
                yield current, batch
            current, batch = entry.case_id, []
        batch.append(entry)
    if current is not None:
        yield current, batch
