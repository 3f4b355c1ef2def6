"""Recompute every chain and compare each case row with a replay of its ledger."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .heads import facts_of
from .models import GENESIS_HASH, LedgerEntry, LedgerHead


@dataclass
class CaseReport:
    case_id: int
    number: str
    problems: list[str] = field(default_factory=list)


@dataclass
class Replay:
    state: str = ""
    head: dict = field(default_factory=dict)  # what the case's LedgerHead must hold

    @property
    def department(self) -> int | None:
        return self.head.get("department_id")


def check_chain(number: str, entries: Iterable[LedgerEntry]) -> tuple[list[str], Replay]:
    """Problems with one case's chain (first broken entry only), and the replayed end state."""
    problems: list[str] = []
    replay = Replay()
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
        if entry.expected_hash(number) != entry.hash:
            problems.append(f"entry #{entry.seq} ({entry.action}): hash does not match its content")
            break
        if last_time is not None and entry.occurred_at < last_time:
            problems.append(f"entry #{entry.seq} ({entry.action}): occurred before the entry preceding it")
            break
        last_time = entry.occurred_at
        if entry.to_state:
            replay.state = entry.to_state
        replay.head.update(facts_of(entry))
        prev_hash = entry.hash
        expected_seq += 1
    if expected_seq == 1 and not problems:
        problems.append("no ledger entries")
    return problems, replay


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


def verify_cases(case_queryset, *, chunk_size: int = 2000, recorder=None) -> Iterator[CaseReport]:
    """Yield a report for every case whose chain or replay is wrong. Bounded memory.

    ``recorder`` (a ``ledger.integrity.Recorder``): records every chain's outcome on its head."""
    ids = list(case_queryset.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start : start + chunk_size]
        if recorder is not None:
            recorder.load(chunk)
        rows = {
            row["pk"]: row
            for row in case_queryset.model.objects.filter(pk__in=chunk).values("pk", "number", "state", "department_id")
        }
        heads = {
            h["case_id"]: h
            for h in LedgerHead.objects.filter(case_id__in=chunk).values(*HEAD_FIELDS, "complete", "missing")
        }
        seen = set()
        entries = LedgerEntry.objects.filter(case_id__in=chunk).order_by("case_id", "seq").iterator(chunk_size=5000)
        for case_id, batch in grouped_by_case(entries):
            seen.add(case_id)
            row = rows[case_id]
            problems, replay = check_chain(row["number"], batch)
            if recorder is not None:
                problems += recorder.record(case_id, row["number"], batch, list(problems))
            if not problems:
                if replay.state != row["state"]:
                    problems.append(f"case row state '{row['state']}' but the ledger replays to '{replay.state}'")
                if replay.department != row["department_id"]:
                    problems.append(
                        f"case row department {row['department_id']} but the ledger replays to {replay.department}"
                    )
                problems += head_problems(heads.get(case_id), replay.head, row["number"], batch)
            if problems:
                yield CaseReport(case_id, row["number"], problems)
        for case_id in sorted(set(rows) - seen):
            if recorder is not None:
                recorder.record(case_id, rows[case_id]["number"], [], ["no ledger entries"])
            yield CaseReport(case_id, rows[case_id]["number"], ["no ledger entries"])
        if recorder is not None:
            recorder.flush()


HEAD_FIELDS = ("case_id", "seq", "last_at", "close_seq", "closed_at", "reopen_seq", "due_date", "department_id")
VERIFIED_FIELDS = ("verified_seq", "verified_hash", "verified_at", "chain_ok")


def head_problems(head: dict | None, replayed: dict, number: str, chain: list[LedgerEntry]) -> list[str]:
    """How the stored head differs from the one its chain replays to (scoring reads heads). Asked
    only about a chain ``check_chain`` has verified, so its verdict does not hash it again."""
    if head is None:
        return ["no ledger head (run verify_ledger --rebuild-heads)"]
    problems = [
        f"ledger head {name} is {head[name]!r} but the chain replays to {replayed.get(name)!r}"
        for name in HEAD_FIELDS[1:]
        if head[name] != replayed.get(name)
    ]
    if head["complete"] is not None:
        from .completeness import lacks  # completeness → verify

        missing = lacks(number, chain, chain_problems=[])
        if (head["complete"], head["missing"]) != (not missing, missing):
            problems.append(f"ledger head says the ledger lacks {head['missing']!r} but it lacks {missing!r}")
    return problems


def missing_numbers(case_queryset, *, issued: dict[tuple[str, int], int] | None = None) -> dict[tuple[str, int], list[int]]:
    """Serial numbers missing from each region's yearly sequence: 1 up to the last serial handed
    out (``issued``: {(region code, year): the counter's last serial}) or on record, whichever is
    higher — so a deleted newest case is missing too."""
    from django.db.models import Count, Max

    issued = issued or {}
    gaps: dict[tuple[str, int], list[int]] = {}
    groups = {
        (g["region__code"], g["year"]): (g["n"], g["top"])
        for g in case_queryset.values("region__code", "year").annotate(n=Count("pk"), top=Max("serial"))
    }
    for key in issued:
        groups.setdefault(key, (0, 0))
    for (code, year), (count, top) in groups.items():
        top = max(top or 0, issued.get((code, year), 0))
        if count == top:
            continue
        have = set(case_queryset.filter(region__code=code, year=year).values_list("serial", flat=True))
        gaps[(code, year)] = [n for n in range(1, top + 1) if n not in have]
    return gaps
