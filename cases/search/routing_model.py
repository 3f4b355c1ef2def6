"""The kept routing model: per region, what the cases holding each term say for each department.

A routing suggestion (``cases.routing_suggestions``) reads the rows of the few terms of a new
text instead of querying the region's history. Every case of a region adds, for each term of its
description (``document_words`` that are ``telling``: no stopwords, ``ASKING_WORDS``, numbers or
one-character words), to the row (region, term, department that has it):

- closed on time by the department: +1 (an explanation reply ×0.6); closed late: half of that;
- still with the department (assigned, not yet closed): +0.3;
- returned by the department (退单): −1 — the department said the text was not its remit;

each scaled by 2^((day − ``EPOCH``) / ``HALF_LIFE_DAYS``): a vote weighs twice as much as one a
half-life older, and the rows need no rewriting as time passes (a question divides by the scale of
its own moment). ``RoutingTerm`` counts the cases holding a term (its document frequency).

Kept current in the transaction of every write: a case's ``post_save`` takes back the vote it
had when loaded and adds the one it has now (intake, routing, closing, a 退单); writers that
bypass ``save()`` call ``learn_cases`` (``generate_load``; a bulk import through
``after_bulk_import``). ``rebuild`` (``manage.py rebuild_routing_model``) builds a region from its
last ``HISTORY_DAYS`` of cases as of a moment: a region that had cases before the model existed is
marked not ready (migration 0003) and answers by the query path until it is built.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_init, post_save
from django.dispatch import receiver
from django.utils import timezone

from cases.importing.tables import TableWriter
from cases.models import CLOSED_STATES, Case, Region, State, local_date
from cases.signals import after_bulk_import, bulk_import_finishing, bulk_import_starting
from ledger.instances import unsaved
from ledger.models import LedgerEntry

from .models import RoutingModelRegion, RoutingTerm, RoutingWeight
from .segment import STOPWORDS, document_words

HISTORY_DAYS = 730
HALF_LIFE_DAYS = 180
EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
ON_TIME, LATE_FACTOR, EXPLAINED_FACTOR, OPEN_WEIGHT, RETURN_WEIGHT = 1.0, 0.5, 0.6, 0.3, -1.0
# Words of the asking itself, in most texts whatever the topic: they find everything, tell nothing.
ASKING_WORDS = frozenset(
    "希望 申请 迟迟 一直 多次 给予 答复 恳请 请求 部门 尽快 正常 生产 经营 生产经营 办理 缓慢 不到 到位 "
    "不清 不清楚 清楚 反复 周期 过长 时限 未果 材料 政策 资金 补贴 项目 我们 本企业 负责人 来电 走访 了解".split()
)
SIMILAR_KEPT = 3  # case ids kept per row
MONTHS_KEPT = 13
BATCH = 2000
# A bulk import's gathered rows (term × department changes, about 1 KB each in memory) are written
# once this many are waiting, and gathered afresh: a 100,000-row import stays within its memory.
BULK_ROWS_IN_MEMORY = 30_000
_FIELDS = ("state", "department_id", "received_at", "closed_at", "due_date")


def scale(moment: dt.datetime) -> float:
    """2^((moment − EPOCH) / half-life): a vote's weight relative to one at the epoch."""
    return 2.0 ** ((moment - EPOCH).total_seconds() / 86400 / HALF_LIFE_DAYS)


# A number (an amount, a year, a count, a row's own serial: 500, 2023, 3.5, １２) says nothing of
# which department a text belongs to, and nearly every one is new: learned, each would add a row per
# region and department for one case.
NUMBER = re.compile(r"[0-9０-９]+")  # (a word is letters and digits only: no point, no comma)


def telling(word: str) -> bool:
    """Whether a word of a text can tell departments apart: not a stopword, not a word of the asking
    (``ASKING_WORDS``), not a single character, not a number."""
    return len(word) > 1 and word not in STOPWORDS and word not in ASKING_WORDS and not NUMBER.fullmatch(word)


def case_terms(description: str) -> list[str]:
    """The terms a text is learned and asked by, without repeats, longest first."""
    words = [w for w in dict.fromkeys(document_words(description)) if len(w) <= 64 and telling(w)]
    return sorted(words, key=len, reverse=True)


def month_of(moment: dt.datetime) -> str:
    return local_date(moment).strftime("%Y-%m")


def months_since(moment: dt.datetime, months: int) -> str:
    """The first month key of the ``months`` months ending with ``moment``'s."""
    day = local_date(moment)
    index = day.year * 12 + day.month - 1 - (months - 1)
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass(frozen=True)
class Vote:
    department_id: int
    weight: float  # already scaled
    closed_month: str | None  # the month it was closed in, for a closed case


def vote(state, department_id, received_at, closed_at, due_date, as_of: dt.datetime | None = None) -> Vote | None:
    """What a case in this state says for the department that has it (``as_of``: a case closed
    at or after it counts as not closed, as the query path does)."""
    if department_id is None:
        return None
    if state in CLOSED_STATES and closed_at is not None and (as_of is None or closed_at < as_of):
        on_time = due_date is None or local_date(closed_at) <= due_date
        weight = ON_TIME if on_time else ON_TIME * LATE_FACTOR
        if state == State.EXPLAINED:
            weight *= EXPLAINED_FACTOR
        return Vote(department_id, weight * scale(closed_at), month_of(closed_at))
    if state == State.ASSIGNED and received_at is not None:
        return Vote(department_id, OPEN_WEIGHT * scale(received_at), None)
    return None


@dataclass
class _Change:
    weight: float = 0.0
    held: int = 0
    closed: Counter = field(default_factory=Counter)
    add: dict[int, str] = field(default_factory=dict)  # case id → number
    remove: set[int] = field(default_factory=set)


class Delta:
    """Changes to a region's rows, gathered in memory and written in a few statements.

    ``additive``: only votes added (a rebuild, new cases learned in bulk) — each row then keeps
    just its newest ``SIMILAR_KEPT`` cases in memory, all the row can keep after the merge: a
    whole import's cases gathered in one delta stay small."""

    def __init__(self, region_id: int, moment: dt.datetime, *, additive: bool = False) -> None:
        self.region_id = region_id
        self.moment = moment  # months older than MONTHS_KEPT before it are dropped
        self.additive = additive
        self.terms: Counter = Counter()
        self.rows: dict[tuple[str, int], _Change] = defaultdict(_Change)
        self.cases = 0

    def add_case(self, terms) -> None:
        self.cases += 1
        for term in terms:
            self.terms[term] += 1

    def add_vote(self, terms, v: Vote, sign: int, case_id: int, number: str) -> None:
        if sign < 0 and self.additive and terms:
            raise ValueError("an additive delta takes no vote back")
        # (read once, not per term: a bulk import adds a vote of every case it learns)
        rows, department, weight, month = self.rows, v.department_id, sign * v.weight, v.closed_month
        for term in terms:
            change = rows[(term, department)]
            change.weight += weight
            change.held += sign
            if month:
                change.closed[month] += sign
            if sign > 0:
                change.add[case_id] = number
                change.remove.discard(case_id)
                if self.additive and len(change.add) > 4 * SIMILAR_KEPT:
                    newest = sorted(change.add, reverse=True)[:SIMILAR_KEPT]
                    change.add = {pk: change.add[pk] for pk in newest}
            else:
                change.remove.add(case_id)
                change.add.pop(case_id, None)

    def add_return(self, terms, department_id: int, moment: dt.datetime) -> None:
        weight = RETURN_WEIGHT * scale(moment)
        for term in terms:
            self.rows[(term, department_id)].weight += weight

    def write(self, *, fresh: bool = False, tables: TableWriter | None = None) -> None:
        """Merge into the rows (``fresh``: the region's rows were just deleted, only insert;
        ``tables``: a bulk import's, which writes the rows with its own — a COPY of the new ones).

        Every writer holds the region's model row locked (``_learning``, or ``rebuild``'s
        ``update_or_create``) from before it reads these rows until it commits, so the rows are read
        without locks of their own: rows on record get the change added (one ``executemany``), rows
        missing are inserted with it (one insert per ``BATCH``) — nobody else can insert them
        meanwhile."""
        region_id, oldest = self.region_id, months_since(self.moment, MONTHS_KEPT)
        known_terms: dict[str, RoutingTerm] = {}
        known_weights: dict[tuple[str, int], RoutingWeight] = {}
        if not fresh:
            known_terms = _rows_of(
                RoutingTerm.objects.filter(region_id=region_id), sorted(self.terms), key=lambda r: r.term
            )
            by_department: dict[int, list[str]] = defaultdict(list)
            for term, department_id in sorted(self.rows):
                by_department[department_id].append(term)
            for department_id, names in sorted(by_department.items()):
                known_weights |= _rows_of(
                    RoutingWeight.objects.filter(region_id=region_id, department_id=department_id),
                    names,
                    key=lambda r: (r.term, r.department_id),
                )
        new_terms: list[RoutingTerm] = []
        for term, count in sorted(self.terms.items()):
            row = known_terms.get(term)
            if row is None:
                new_terms.append(unsaved(RoutingTerm, region_id=region_id, term=term, cases=count))
            else:
                row.cases += count
        new_weights: list[RoutingWeight] = []
        for key, change in sorted(self.rows.items()):
            row = known_weights.get(key)
            if row is None:
                row = unsaved(
                    RoutingWeight, region_id=region_id, term=key[0], department_id=key[1], closed={}, similar=[]
                )
                new_weights.append(row)
            row.weight += change.weight
            row.held = max(0, row.held + change.held)
            closed = Counter(row.closed)
            closed.update(change.closed)
            row.closed = {m: n for m, n in sorted(closed.items()) if n > 0 and m >= oldest}
            similar = {int(pk): number for pk, number in row.similar if int(pk) not in change.remove}
            similar.update(change.add)
            row.similar = [[pk, similar[pk]] for pk in sorted(similar, reverse=True)[:SIMILAR_KEPT]]
        writer = tables or TableWriter()
        writer.update(RoutingTerm, list(known_terms.values()), ["cases"])
        writer.update(RoutingWeight, list(known_weights.values()), ["weight", "held", "closed", "similar"])
        if tables is None:
            RoutingTerm.objects.bulk_create(new_terms, batch_size=BATCH)
            RoutingWeight.objects.bulk_create(new_weights, batch_size=BATCH)
        else:
            tables.reserve({RoutingTerm: len(new_terms), RoutingWeight: len(new_weights)})
            for model, rows in ((RoutingTerm, new_terms), (RoutingWeight, new_weights)):
                for row, pk in zip(rows, tables.allocate_ids(model, len(rows)), strict=True):
                    row.pk = pk
                tables.insert(model, rows)
        if self.cases:
            RoutingModelRegion.objects.filter(region_id=region_id).update(cases=F("cases") + self.cases)


def _rows_of(rows, terms: list[str], *, key) -> dict:
    """The rows on record of these terms, by ``key``, read 500 terms at a time."""
    found = {}
    for start in range(0, len(terms), 500):
        found |= {key(row): row for row in rows.filter(term__in=terms[start : start + 500])}
    return found


# -- building ---------------------------------------------------------------------------------------


def _learn(delta: Delta, rows: list[dict], as_of: dt.datetime | None, memo: dict[str, list[str]]) -> None:
    """Add these cases (field values by attname) and their returns before ``as_of`` to the delta."""
    terms_of: dict[int, list[str]] = {}
    for case in rows:
        text = case["description"] or ""
        terms = memo.get(text)
        if terms is None:
            terms = memo[text] = case_terms(text)
            if len(memo) > 50_000:
                memo.clear()
        terms_of[case["id"]] = terms
        delta.add_case(terms)
        v = vote(*(case[f] for f in _FIELDS), as_of=as_of)
        if v is not None:
            delta.add_vote(terms, v, +1, case["id"], case["number"])
    returns = LedgerEntry.objects.filter(case_id__in=list(terms_of), action="return")
    if as_of is not None:
        returns = returns.filter(occurred_at__lt=as_of)
    for case_id, payload, occurred_at in returns.values_list("case_id", "payload", "occurred_at"):
        department_id = (payload or {}).get("department")
        if department_id:
            delta.add_return(terms_of[case_id], department_id, occurred_at)


_VALUES = ("id", "number", "description", *_FIELDS)


def rebuild(region: Region | None = None, *, as_of: dt.datetime | None = None, batch: int = BATCH) -> int:
    """Build the model of one region (or every one) from its cases received in the ``HISTORY_DAYS``
    before ``as_of`` (now when None), counting only what happened before it. One transaction per
    region; returns how many cases were learned from."""
    as_of = as_of or timezone.now()
    learned = 0
    for one in [region] if region is not None else list(Region.objects.order_by("pk")):
        with transaction.atomic():
            RoutingModelRegion.objects.update_or_create(
                region=one, defaults={"ready": True, "as_of": as_of, "cases": 0}
            )
            RoutingWeight.objects.filter(region=one).delete()
            RoutingTerm.objects.filter(region=one).delete()
            delta, memo, last = Delta(one.pk, as_of, additive=True), {}, 0
            history = Case.objects.filter(
                region=one, received_at__gte=as_of - dt.timedelta(days=HISTORY_DAYS), received_at__lt=as_of
            ).order_by("pk")
            while rows := list(history.filter(pk__gt=last).values(*_VALUES)[:batch]):
                _learn(delta, rows, as_of, memo)
                last = rows[-1]["id"]
            delta.write(fresh=True)
            learned += delta.cases
    return learned


def _learning(region_id: int, moment: dt.datetime) -> bool:
    """Whether writes to this region go into its model: a region without a model row had no cases
    when the model came (migration 0003 marked those that had), so it starts learning now.

    The region's row is locked first, as ``rebuild`` locks it (``update_or_create``) for its whole
    transaction: a write waits for a rebuild under way and then adds its change to the rebuilt rows
    (the rebuild read the case as it was before this write), or a rebuild waits for the write and
    reads the case as written — never counted twice or missed. Writes of one region take turns
    from here to their commit, which is what lets ``Delta.write`` read and insert the region's rows
    without locks of their own."""
    state = (
        RoutingModelRegion.objects.select_for_update()
        .filter(region_id=region_id)
        .values_list("ready", flat=True)
        .first()
    )
    if state is None:
        # Locked too when another writer inserted the row first (the get after the conflict is FOR UPDATE).
        made, _created = RoutingModelRegion.objects.select_for_update().get_or_create(
            region_id=region_id, defaults={"ready": True, "as_of": moment}
        )
        return made.ready
    return state


def learn_cases(ids) -> int:
    """Add new cases written without ``save()`` (in the caller's transaction), as they are now."""
    ids = sorted(ids)
    now = timezone.now()
    learned = 0
    for start in range(0, len(ids), BATCH):
        rows = list(Case.objects.filter(pk__in=ids[start : start + BATCH]).values("region_id", *_VALUES))
        by_region: dict[int, list[dict]] = defaultdict(list)
        for row in rows:
            by_region[row["region_id"]].append(row)
        for region_id, region_rows in sorted(by_region.items()):
            if not _learning(region_id, now):
                continue
            delta = Delta(region_id, now, additive=True)
            _learn(delta, region_rows, None, {})
            delta.write()
            learned += delta.cases
    return learned


# -- keeping it current -----------------------------------------------------------------------------

_UNKNOWN = object()
_WATCHED = frozenset({"state", "department", "department_id", "closed_at", "due_date", "received_at"})


@receiver(post_init, sender=Case, dispatch_uid="case_routing_model_loaded")
def _remember(sender, instance: Case, **kwargs) -> None:
    """The case's fields as loaded (never a query: a deferred field makes it unknown)."""
    values = instance.__dict__  # (``_state.adding`` is still true here, even for a loaded row)
    if values.get("id") is None:
        instance._routing_before = None
        return
    if any(f not in values for f in _FIELDS):
        instance._routing_before = _UNKNOWN
        return
    instance._routing_before = tuple(values[f] for f in _FIELDS)


@receiver(post_save, sender=Case, dispatch_uid="case_routing_model_saved")
def case_saved(sender, instance: Case, created: bool, raw: bool = False, update_fields=None, **kwargs) -> None:
    """Take back the vote the case had and add the one it has now, in the saving transaction."""
    if raw:
        return
    before = getattr(instance, "_routing_before", _UNKNOWN)
    after = tuple(getattr(instance, f) for f in _FIELDS)
    instance._routing_before = after
    if not created and update_fields is not None and not _WATCHED.intersection(update_fields):
        return
    if before is _UNKNOWN:
        before = after if not created else None  # loaded partially: nothing known to take back
    old = vote(*before) if before else None
    new = vote(*after)
    returned_by = before[1] if before and before[1] and after[1] is None else None
    if not created and old == new and returned_by is None:
        return
    now = timezone.now()
    if not _learning(instance.region_id, now):
        return
    terms = case_terms(instance.description)
    delta = Delta(instance.region_id, now)
    if created:
        delta.add_case(terms)
    if old is not None and old != new:
        delta.add_vote(terms, old, -1, instance.pk, instance.number)
    if new is not None and old != new:
        delta.add_vote(terms, new, +1, instance.pk, instance.number)
    if returned_by is not None:
        delta.add_return(terms, returned_by, now)
    delta.write()


@receiver(bulk_import_starting, dispatch_uid="case_routing_model_bulk_import_starting")
def _start_bulk_import(sender, *, regions, kept, **kwargs) -> None:
    """The import's regions' model rows locked (``_learning``) before its first batch is handed on
    to be written, not at the first batch: a query then waits for those rows to be written."""
    _deltas_for(kept, regions)


def _deltas_for(kept: dict, regions) -> dict[int, Delta | None]:
    """The import's delta of each of these regions (None: a region not learning), the regions not
    met before locked in id order."""
    deltas: dict[int, Delta | None] = kept.setdefault("routing_model", {})
    now = timezone.now()
    for region_id in sorted(set(regions) - set(deltas)):  # locked in id order
        deltas[region_id] = Delta(region_id, now, additive=True) if _learning(region_id, now) else None
    return deltas


@receiver(after_bulk_import, dispatch_uid="case_routing_model_bulk_import")
def _learn_bulk_import(sender, *, cases, kept, tables, **kwargs) -> None:
    """A batch of cases a bulk import wrote without ``post_save``, learned from the cases in memory
    (an import records no 退单) into one additive delta per region for the whole import, kept in
    the import's ``kept``; written when it finishes (``_write_bulk_import``), in its transaction,
    or earlier whenever ``BULK_ROWS_IN_MEMORY`` rows are waiting: a term that many batches share is
    read and rewritten once or a few times, not once a batch."""
    deltas = _deltas_for(kept, {case.region_id for case in cases})  # (the import's own: none new)
    for case in cases:
        if sum(len(delta.rows) for delta in deltas.values() if delta is not None) > BULK_ROWS_IN_MEMORY:
            _write_gathered(deltas, tables)  # memory stays bounded: written, and gathered afresh
        delta = deltas[case.region_id]
        if delta is None:
            continue
        terms = case_terms(case.description)
        delta.add_case(terms)
        v = vote(*(getattr(case, f) for f in _FIELDS))
        if v is not None:
            delta.add_vote(terms, v, +1, case.pk, case.number)


@receiver(bulk_import_finishing, dispatch_uid="case_routing_model_bulk_import_finishing")
def _write_bulk_import(sender, *, kept, tables, **kwargs) -> None:
    _write_gathered(kept.pop("routing_model", {}), tables)


def _write_gathered(deltas: dict[int, Delta | None], tables: TableWriter) -> None:
    """Write each region's gathered delta, in region order, and start it afresh."""
    for region_id, delta in sorted(deltas.items()):
        if delta is not None and (delta.rows or delta.cases):
            delta.write(tables=tables)
            deltas[region_id] = Delta(region_id, delta.moment, additive=True)
