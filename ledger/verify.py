"""Recompute every chain and compare each case row with a replay of its ledger."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from .chain import check_chain, grouped_by_case
from .completeness import lacks, stages_of
from .models import LedgerEntry, LedgerHead


@dataclass
class CaseReport:
    case_id: int
    number: str
    problems: list[str] = field(default_factory=list)


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
            for h in LedgerHead.objects.filter(case_id__in=chunk).values(*HEAD_FIELDS, "complete", "missing", "stages")
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
        missing = lacks(number, chain, chain_problems=[])
        if (head["complete"], head["missing"]) != (not missing, missing):
            problems.append(f"ledger head says the ledger lacks {head['missing']!r} but it lacks {missing!r}")
    if head.get("stages") is not None and head["stages"] != stages_of(chain):
        # append judges the next entry from these: a head that disagrees would judge it wrong
        problems.append("ledger head's completeness state (stages) is not its chain's")
    return problems
