"""Whether a case's ledger is complete (scoresheet item 13, SPEC §3).

Judged from the ledger alone, optionally as it stood at a moment (the scoring cutoff): every stage
the case reached must have its records, and its hash chain must verify with non-decreasing times.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields

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
    return _Stages.read(entries).lacks(problems)


def stages_of(entries: Iterable[LedgerEntry]) -> dict:
    """What ``lacks`` needs of these entries besides the hashes, as the head stores it
    (``LedgerHead.stages``): the fold of ``step`` over them."""
    return _Stages.read(entries).dump()


def judged(entries: list[LedgerEntry], problems: list[str]) -> tuple[list[str], dict]:
    """``lacks`` and ``stages_of`` of the same entries in one fold (``problems``: what
    ``check_chain`` found)."""
    stages = _Stages.read(entries)
    return stages.lacks(problems), stages.dump()


def lacks_after(stages: dict | None, entry: LedgerEntry, *, chain_problems: list[str]) -> tuple[list[str], dict] | None:
    """``lacks`` of a chain whose entries before ``entry`` folded to ``stages`` (``stages_of``, the
    head's) and whose hashes and times through ``entry`` gave ``chain_problems``, with the stages
    through ``entry`` for the head; without reading the chain. None when ``stages`` is not a
    state this version folds (none stored, or an older fold's): then read the chain."""
    folded = _Stages.load(stages)
    if folded is None:
        return None
    folded.step(entry)
    return folded.lacks(chain_problems), folded.dump()


# Where a lack shows in the chain: before its first entry, at an entry's index, or at its end.
BEFORE, END = -1, float("inf")
Lack = tuple[float, str]

# The version of ``_Stages``' fold the heads store: a change to ``step`` or to the fields bumps it,
# and a head that stores another version is judged from its chain once (``lacks_after`` None).
FOLD_VERSION = 1


@dataclass
class _Stages:
    """The records of each stage a chain reached: a fold over its entries, ``step`` by ``step``.

    The one definition of what completeness reads of a chain: ``lacks`` folds a whole chain, and
    ``ledger.services.append`` steps the fold its case's head stores (``dump``/``load``) by the one
    entry it appends. It keeps only what the verdict needs: the index of the first lapse of each
    kind, since a lack is listed once, at its first place in the chain."""

    seen: int = 0  # entries folded in: the next entry's index in the chain
    state: str = ""  # where the chain leads: its last entry's to_state
    create: list[str] | None = None  # what the (first) record of receipt lacks; None: no such record
    routed: bool = False  # ever assigned (or reopened)
    unrouted_at: int | None = None  # index of the first assign/reassign naming no department
    closing: bool | None = None  # the latest closing since the last routing or reopening: states a result?
    evidence: int = 0  # evidence items since the last routing or reopening
    reason: bool = False  # the latest extension request gave a reason
    unreasoned_at: int | None = None  # index of the first extension approved without a reason

    @classmethod
    def read(cls, entries: Iterable[LedgerEntry]) -> _Stages:
        stages = cls()
        for entry in entries:
            stages.step(entry)
        return stages

    def step(self, entry: LedgerEntry) -> None:
        """Fold in the chain's next entry."""
        at, payload = self.seen, entry.payload
        self.seen += 1
        self.state = entry.to_state
        if entry.action == "create" and self.create is None:
            self.create = [name for key, name in CREATE_FIELDS.items() if not _valid(key, payload.get(key))]
        if entry.action in _NEW_ROUND:
            # A new round of handling: its result and evidence start afresh.
            self.routed, self.closing, self.evidence = True, None, 0
            if entry.action != "reopen" and not payload.get("department") and self.unrouted_at is None:
                self.unrouted_at = at
        elif entry.action == "request_extension":
            self.reason = bool((payload.get("reason") or "").strip())
        elif entry.action == "approve_extension" and not self.reason and self.unreasoned_at is None:
            self.unreasoned_at = at
        if entry.action in CLOSING_ACTIONS:
            self.closing = bool((payload.get("result") or "").strip())
        if entry.action in _WITH_EVIDENCE:
            self.evidence += len(payload.get("evidence") or [])

    def lacks(self, problems: list[str]) -> list[str]:
        """What a chain with these stages lacks, ``problems`` being ``check_chain``'s on it."""
        found = sorted((lack for check in STAGES.values() for lack in check(self, problems)), key=lambda lack: lack[0])
        return list(dict.fromkeys(key for _, key in found))

    def dump(self) -> dict:
        """As ``dataclasses.asdict`` would (its one list copied), at a tenth of its cost."""
        data = {"v": FOLD_VERSION, **{name: getattr(self, name) for name in _STAGE_FIELDS}}
        if self.create is not None:
            data["create"] = list(self.create)
        return data

    @classmethod
    def load(cls, data: dict | None) -> _Stages | None:
        if not isinstance(data, dict) or data.get("v") != FOLD_VERSION:
            return None
        values = {k: v for k, v in data.items() if k != "v"}
        return cls(**values) if set(values) == {f.name for f in fields(cls)} else None


_STAGE_FIELDS = tuple(f.name for f in fields(_Stages))
_NEW_ROUND = frozenset((*ROUTING_ACTIONS, "reopen"))
_WITH_EVIDENCE = frozenset((*CLOSING_ACTIONS, "evidence"))


def _valid(key: str, value) -> bool:
    return bool(value) and not (key == "credit_code" and not credit_code.is_valid(value))


def _verifies(stages: _Stages, problems: list[str]) -> Iterator[Lack]:
    """The hash chain verifies, with non-decreasing times (``check_chain``)."""
    if problems:
        yield BEFORE, "ledger_chain"


def _received(stages: _Stages, problems: list[str]) -> Iterator[Lack]:
    """Received: enterprise name, a valid credit code, category, channel, description, received_at."""
    if stages.create is None:
        yield BEFORE, "creation_record"
        return
    for name in stages.create:
        yield BEFORE, name


def _assigned(stages: _Stages, problems: list[str]) -> Iterator[Lack]:
    """Assigned: the responsible department (the time is the entry's own)."""
    if stages.unrouted_at is not None:
        yield stages.unrouted_at, "department"
    if stages.state in ("assigned", "resolved", "explained") and not stages.routed:
        yield END, "department"


def _closed(stages: _Stages, problems: list[str]) -> Iterator[Lack]:
    """Resolved / explained: the result text and at least one evidence item."""
    if stages.closing is None or stages.state not in ("resolved", "explained"):
        return
    if not stages.closing:
        yield END, "result"
    if stages.evidence < 1:
        yield END, "evidence"


def _extended(stages: _Stages, problems: list[str]) -> Iterator[Lack]:
    """An approved extension: its reason."""
    if stages.unreasoned_at is not None:
        yield stages.unreasoned_at, "extension_reason"


# SPEC §3: a case's ledger is complete when every stage it reached has its records.
STAGES: dict[str, Callable[[_Stages, list[str]], Iterator[Lack]]] = {
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
