"""A chain's facts, and keeping each case's ``LedgerHead`` in step with its chain.

``replay`` is the one definition of a chain's facts (state, latest closing and reopening, due
date, department): every other reader is held to it. ``advance`` follows one appended entry
(called by ``ledger.services.append`` in the same transaction); ``rebuild`` recomputes heads from
the entries themselves in one SQL statement, for the migration that introduced heads and for
``verify_ledger --rebuild-heads``. ``tests/ledger/test_one_replay.py`` holds ``rebuild``, the heads
``advance`` keeps, and scoring's item-15 SQL equal to ``replay`` on generated chains.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest

from .models import LedgerEntry, LedgerHead

CLOSING_ACTIONS = ("resolve", "explain")
ROUTING_ACTIONS = ("assign", "reassign")  # the case has payload["department"] afterwards
UNROUTING_ACTIONS = ("return",)  # the case has no department afterwards


def sql_in(actions: tuple[str, ...]) -> str:
    """``('a', 'b')`` for a SQL ``IN``: the action names are these constants, never user input."""
    return "(" + ", ".join(f"'{a}'" for a in actions) + ")"


def facts_of(entry: LedgerEntry) -> dict:
    """What one entry changes in its case's head."""
    changes: dict = {"seq": entry.seq, "last_at": entry.occurred_at}
    if entry.action in CLOSING_ACTIONS:
        changes.update(close_seq=entry.seq, closed_at=entry.occurred_at)
    elif entry.action == "reopen":
        changes["reopen_seq"] = entry.seq
    if entry.due_date is not None:
        changes["due_date"] = entry.due_date
    if entry.action in ROUTING_ACTIONS:
        changes["department_id"] = _department(entry.payload)
    elif entry.action in UNROUTING_ACTIONS:
        changes["department_id"] = None
    return changes


@dataclass
class Replay:
    """A chain's facts after its entries: its state, and what its ``LedgerHead`` holds."""

    state: str = ""
    head: dict = field(default_factory=dict)

    @property
    def department(self) -> int | None:
        return self.head.get("department_id")


def replay(entries: Iterable[LedgerEntry]) -> Replay:
    """A chain's facts, folded from its entries in order (``facts_of`` each)."""
    result = Replay()
    for entry in entries:
        if entry.to_state:
            result.state = entry.to_state
        result.head.update(facts_of(entry))
    return result


def _department(payload) -> int | None:
    value = payload.get("department") if isinstance(payload, dict) else None
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def advance(case, entry: LedgerEntry, missing: list[str], *, stages: dict | None = None) -> None:
    """Move the case's head onto ``entry``, its chain's last (the caller holds the case row lock),
    with ``missing``: what the whole chain lacks (``completeness.lacks``, or ``lacks_after`` from
    the head's ``stages``), verified through this entry unless ``missing`` says the chain does not
    verify; ``stages``: the fold of the chain's stages through ``entry`` (``completeness.stages_of``)."""
    changes = facts_of(entry)
    verdict = dict(
        complete=not missing,
        missing=missing,
        verified_seq=entry.seq,
        verified_hash=entry.hash,
        verified_at=entry.recorded_at,
        chain_ok="ledger_chain" not in missing,
        stages=stages,
    )
    changes.update(verdict)
    if entry.seq == 1:
        LedgerHead.objects.create(case_id=case.pk, **changes)
        return
    # Entries occur in order (verify_ledger reports any that do not); keep the maxima anyway.
    changes["last_at"] = Greatest(F("last_at"), entry.occurred_at)
    if not LedgerHead.objects.filter(case_id=case.pk).update(**changes):
        rebuild(case_ids=[case.pk])  # a chain older than heads: recompute it from its entries
        LedgerHead.objects.filter(case_id=case.pk, seq=entry.seq).update(**verdict)


def record_verdicts(verdicts: list[tuple[int, int, list[str]]]) -> set[int]:
    """Store ``(case id, through seq, what it lacks)`` judged elsewhere (scoring's item 13) on the
    heads still at that seq and not judged yet; the ids of the cases whose heads took it. A head
    that moves on meanwhile is judged by its own append, and ``complete IS NULL`` keeps this from
    overwriting that."""
    wanted = {case_id: (seq, missing) for case_id, seq, missing in verdicts}
    at_seq = LedgerHead.objects.filter(case_id__in=list(wanted), complete__isnull=True).values_list("case_id", "seq")
    by_verdict: dict[tuple[str, ...], list[int]] = {}
    for case_id, seq in at_seq:
        if seq == wanted[case_id][0]:
            by_verdict.setdefault(tuple(wanted[case_id][1]), []).append(case_id)
    updated: set[int] = set()
    for missing, case_ids in by_verdict.items():
        for start in range(0, len(case_ids), 500):
            batch = case_ids[start : start + 500]
            LedgerHead.objects.filter(case_id__in=batch, complete__isnull=True).update(
                complete=not missing, missing=list(missing)
            )
            updated.update(batch)
    return updated


def rebuild(*, case_ids: list[int] | None = None) -> int:
    """Recompute the heads of these cases (all cases when not given) from their entries.

    SQL cannot run ``lacks``: a rebuilt head is not judged (``complete`` null) until its chain's
    next entry, or item 13's judging (scoring, the ``judge_ledgers`` task) fills its verdict in."""
    entries, heads = LedgerEntry._meta.db_table, LedgerHead._meta.db_table
    where, params = "", []
    if case_ids is not None:
        if not case_ids:
            return 0
        where = f"WHERE e.case_id IN ({', '.join(['%s'] * len(case_ids))})"
        params = list(case_ids)
    postgres = connection.vendor == "postgresql"
    department = "(x.payload->>'department')" if postgres else "json_extract(x.payload, '$.department')"
    closing, unrouting = sql_in(CLOSING_ACTIONS), sql_in(UNROUTING_ACTIONS)
    routing = sql_in(ROUTING_ACTIONS + UNROUTING_ACTIONS)
    select = f"""
        SELECT e.case_id, MAX(e.seq), MAX(e.occurred_at),
            MAX(CASE WHEN e.action IN {closing} THEN e.seq END),
            MAX(CASE WHEN e.action IN {closing} THEN e.occurred_at END),
            MAX(CASE WHEN e.action = 'reopen' THEN e.seq END),
            (SELECT x.due_date FROM {entries} x
              WHERE x.case_id = e.case_id AND x.due_date IS NOT NULL ORDER BY x.seq DESC LIMIT 1),
            (SELECT CASE WHEN x.action IN {unrouting} THEN NULL
                         ELSE CAST(NULLIF({department}, '') AS integer) END
               FROM {entries} x
              WHERE x.case_id = e.case_id AND x.action IN {routing} ORDER BY x.seq DESC LIMIT 1),
            '[]'
        FROM {entries} e {where}
        GROUP BY e.case_id
    """
    # Not verified yet (verified_seq, chain_ok null): the next pass or scoring re-hashes the chain.
    columns = "case_id, seq, last_at, close_seq, closed_at, reopen_seq, due_date, department_id, missing"
    delete_where = where.replace("e.case_id", "case_id")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {heads} {delete_where}", params)
        cursor.execute(f"INSERT INTO {heads} ({columns}) {select}", params)
        return cursor.rowcount
