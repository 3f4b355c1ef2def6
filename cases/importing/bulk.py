"""The write pass of an import, in batches: what ``cases.services`` would write row by row, at once.

For each batch of checked rows this writes the enterprises (new ones, and the name and size
class of known ones as the last row says), the cases with their numbers from the region-year
counters, the routing records, the evidence references, the ledger entries — made and hashed by
``ledger.services.next_entry``, the function ``append`` uses — and each chain's head
(``ledger.services.new_head``: the replay and the completeness verdict ``append`` leaves). One
COPY (PostgreSQL) or executemany (SQLite) per table and batch instead of ~28 queries a row.

It runs inside the import's one transaction: the regions it numbers cases in are locked (as
``create_case`` locks each), so intake in those regions waits for the import to commit, and a
failure anywhere rolls everything back. The result is the services' result, field for field and
hash for hash (``tests/imports/test_bulk_matches_services.py`` imports generated files both ways
and compares), with one difference on purpose: no inbox message per historical case routed.

Cases written here do not pass through ``Model.save``, so no ``post_save`` fires; after each
batch ``cases.signals.after_bulk_import`` announces its cases, in the import's transaction (the
search index listens there and copies their rows in; the routing model gathers their votes and
writes them once, on ``bulk_import_finishing``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from concurrent.futures import Future

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Max, Model
from django.db.models.base import ModelState
from django.utils import timezone

from cases import signals, workdays
from cases.models import (
    OPEN_STATES,
    Case,
    CaseAssignment,
    CaseNumberCounter,
    Department,
    DepartmentCase,
    Enterprise,
    Evidence,
    Region,
    State,
)
from cases.search.segment import AheadSegmenter, Ticket
from ledger.instances import unsaved
from ledger.models import LedgerEntry, LedgerHead, Source
from ledger.services import new_head, next_entry

from .rows import ParsedRow
from .tables import TableWriter

BATCH_ROWS = 2000
# (Ids are read and set as ``id``, not ``pk``, a property, in the loops below: every model here has
# Django's automatic ``id``.)


class BulkWriter:
    """Collects checked rows and writes them a batch at a time; ``finish`` closes the import."""

    def __init__(
        self,
        *,
        by,
        now: dt.datetime,
        find_department,
        ahead: bool = False,
        pipelined: bool = False,
        segmenter: AheadSegmenter | None = None,
        segmented: dict[int, tuple[tuple[int, str], Ticket | None]] | None = None,
        regions: set[int] | None = None,
    ):
        self.by = by
        self.now = now
        self.find_department = find_department  # (region, name) → Department
        self.calendar = workdays.current_calendar()
        self.zone = timezone.get_current_timezone()  # ``timezone.localtime``'s, read once
        self.pending: list[ParsedRow] = []
        self.serials: dict[tuple[int, int], int] = {}  # (region id, year) → last serial handed out
        self.counters: dict[tuple[int, int], CaseNumberCounter] = {}
        self.locked_regions: set[int] = set()
        self.dues: dict[tuple[dt.date, int], workdays.Due] = {}
        self.created = 0
        self.unchanged = 0
        self.kept: dict = {}  # the listeners' own, for the whole import (``cases.signals``)
        # Each batch goes through three steps, one step a batch filled (``_hand_on``), so that
        # what a step waits for is ready by then: asked (the 编号 and enterprises on record looked
        # up), waiting (its new rows' texts segmented in a child process — ``ahead``: a file large
        # enough to pay for starting one — and its ids reserved), written. The import's checking
        # pass may have asked the child for a batch's texts already (``segmented``: the ticket of
        # each batch by its index, with its first row's (region id, 编号) to match it by); the
        # child is then the caller's ``segmenter``, which the caller closes.
        self.ahead = ahead
        self.own_segmenter = segmenter is None
        self.segmenter = AheadSegmenter(ahead=ahead) if segmenter is None else segmenter
        self.segmented = segmented if segmented is not None else {}
        self.batches = 0  # batches handed on so far
        self.asked: tuple[list[ParsedRow], int, Future, Future] | None = None
        self.waiting: tuple[list[ParsedRow], object, Future] | None = None
        self.handed: set[tuple[int, str]] = set()  # (region id, 编号) of the rows handed on to be written
        # Enterprises this import created or changed, as it left them: credit code → (id, name,
        # size). A lookup does not see them (pipelined, it reads on another connection); those
        # rows are locked by the import, so nobody else changes them meanwhile.
        self.enterprises: dict[str, tuple[int, str, str]] = {}
        # (``regions``: those the import creates cases in, which the caller has locked.) Before the
        # tables: a listener that fails (a lock timeout, a deadlock) leaves no thread behind.
        signals.bulk_import_starting.send(sender=Case, regions=sorted(regions or ()), kept=self.kept)
        # Pipelined: each batch's rows are written while the next is built (``TableWriter``). Made
        # last: its threads are stopped by ``close``, which the caller calls once this is made.
        self.tables = TableWriter(pipelined=pipelined)

    def add(self, parsed: ParsedRow) -> None:
        self.pending.append(parsed)
        if len(self.pending) >= BATCH_ROWS:
            self._hand_on()

    def _hand_on(self) -> None:
        """One step for each batch under way: the batch asked about last time finds its new rows
        (their texts go to the segmenter); the batch waiting is written; the new rows' ids are
        reserved (which enterprises are new is known once the batch before is written); the full
        batch is asked about."""
        ready = self._new_rows(*self.asked) if self.asked is not None else None
        self.asked = None
        if self.waiting is not None:
            self._flush(*self.waiting)
        self.waiting = ready
        if ready is not None:
            self._reserve(*ready)
        batch, self.pending = self.pending, []
        if batch:
            codes = [code for code in dict.fromkeys(p.credit_code for p in batch) if code not in self.enterprises]
            self.batches += 1
            self.asked = (
                batch,
                self.batches - 1,
                self.tables.lookup_later(existing_refs, batch),
                self.tables.lookup_later(_enterprises_on_record, codes),
            )

    def _new_rows(self, batch: list[ParsedRow], index: int, existing: Future, on_record: Future):
        """The rows whose 编号 neither the region has nor an earlier row of this import (as the
        services path, written row by row, would find), with their segmenter's ticket: the one
        the checking pass took for the batch (the texts of its rows not on record then), else one
        asked now."""
        refs = existing.result()
        first, ticket = self.segmented.pop(index, (None, None))
        if first != (batch[0].region.pk, batch[0].ref):  # (not the batch the checking pass saw)
            ticket = None
        rows = []
        for parsed in batch:
            key = (parsed.region.pk, parsed.ref)
            if key not in refs and key not in self.handed:  # (a 编号 twice: the file changed since pass one)
                self.handed.add(key)
                rows.append(parsed)
        self.unchanged += len(batch) - len(rows)
        if not rows:
            return None
        if ticket is None and self.ahead:
            ticket = self.segmenter.submit([text for parsed in rows for text in texts_of(parsed)])
        return rows, ticket, on_record

    def _reserve(self, rows: list[ParsedRow], ticket, on_record: Future) -> None:
        """Every id the rows take, in one query: the enterprises' too, new unless this import or
        the database has them (the batch before is written, so ``self.enterprises`` is current)."""
        recorded = {enterprise.credit_code for enterprise in on_record.result()}
        new = {p.credit_code for p in rows} - recorded - self.enterprises.keys()
        self.tables.reserve({Enterprise: len(new), **_ids_needed(rows)})

    def _flush(self, batch: list[ParsedRow], ticket, on_record: Future) -> None:
        self.segmenter.use(ticket)
        try:
            self._write_batch(batch, on_record.result())
        finally:
            self.segmenter.done(ticket)

    def _write_batch(self, rows: list[ParsedRow], on_record: list[Enterprise]) -> None:
        self._lock_regions({p.region.pk for p in rows})
        enterprises, renamed = self._enterprises(rows, on_record)
        cases, departments = self._cases(rows, enterprises)
        evidence = self._evidence(rows, cases)
        entries: list[LedgerEntry] = []
        heads: list[LedgerHead] = []
        assignments: list[CaseAssignment] = []
        entry_ids = iter(self.tables.allocate_ids(LedgerEntry, sum(_entry_count(p) for p in rows)))
        for parsed, case, department, items in zip(rows, cases, departments, evidence, strict=True):
            chain = self._chain(parsed, case, department, items, assignments)
            for entry in chain:
                entry.id = next(entry_ids)
            entries += chain
            heads.append(new_head(case, chain))
        for assignment, pk in zip(assignments, self.tables.allocate_ids(CaseAssignment, len(assignments)), strict=True):
            assignment.id = pk
        # A case imported routed has one routing: its department's row (CaseAssignment.record),
        # with what the row copies of its case.
        of_case = {case.id: case for case in cases}
        seen = [
            _model(
                DepartmentCase,
                id=pk,
                department_id=a.department_id,
                case_id=a.case_id,
                received_at=(case := of_case[a.case_id]).received_at,
                category_id=case.category_id,
                state=case.state,
                open=case.state in OPEN_STATES,
                satisfaction=case.satisfaction,
            )
            for a, pk in zip(assignments, self.tables.allocate_ids(DepartmentCase, len(assignments)), strict=True)
        ]
        self.tables.insert(Case, cases)
        self.tables.insert(Evidence, [item for items in evidence for item in items])
        self.tables.insert(CaseAssignment, assignments)
        self.tables.insert(DepartmentCase, seen)
        self.tables.insert(LedgerEntry, entries)
        self.tables.insert(LedgerHead, heads)
        # Inside the import's transaction, like post_save for a case written one at a time: a
        # derived row (the search index) is written with the cases or not at all.
        signals.after_bulk_import.send(
            sender=Case,
            cases=cases,
            enterprises={e.pk: (e.name, e.credit_code) for e in enterprises.values()},
            renamed=renamed,
            kept=self.kept,
            tables=self.tables,
        )
        self.created += len(cases)
        for case in cases:  # (each head's case points back to it, as LedgerHead(case=…) leaves it: a cycle)
            case._state.fields_cache.pop("ledger_head", None)

    def finish(self) -> None:
        """Write the remaining rows and the counters."""
        while self.pending or self.asked or self.waiting:
            self._hand_on()
        for key, counter in self.counters.items():
            counter.last_serial = self.serials[key]
        self.tables.update(CaseNumberCounter, list(self.counters.values()), ["last_serial"])
        signals.bulk_import_finishing.send(sender=Case, kept=self.kept, tables=self.tables)
        self.tables.wait()

    def close(self) -> None:
        """Stop the writing thread and the segmenter's child process (after ``finish``, or when
        the import failed: before its transaction rolls back)."""
        try:
            self.tables.close()
        finally:
            if self.own_segmenter:
                self.segmenter.close()

    # -- per batch -----------------------------------------------------------------------------

    def _lock_regions(self, region_ids: set[int]) -> None:
        new = sorted(region_ids - self.locked_regions)
        if new:
            list(Region.objects.select_for_update().filter(pk__in=new).values_list("pk", flat=True))
            self.locked_regions.update(new)

    def _enterprises(
        self, rows: list[ParsedRow], on_record: list[Enterprise]
    ) -> tuple[dict[str, Enterprise], list[int]]:
        """The batch's enterprises by credit code, as ``create_case``'s get-or-create-and-update
        leaves them after these rows in order: a new one takes its first row's name, and every
        later row's name and (when given) size class; the last row wins. And the ids of those on
        record before the batch whose name it changed. ``on_record``: those of the batch's codes the
        database had when the batch was asked about (this import's own are in ``self.enterprises``)."""
        known = {enterprise.credit_code: enterprise for enterprise in on_record}
        for code in dict.fromkeys(p.credit_code for p in rows):
            if code in self.enterprises:
                pk, name, size = self.enterprises[code]
                known[code] = _model(Enterprise, id=pk, name=name, credit_code=code, size=size)
        names_before = {e.pk: e.name for e in known.values()}
        new: list[Enterprise] = []
        changed: dict[int, Enterprise] = {}
        for parsed in rows:
            enterprise = known.get(parsed.credit_code)
            if enterprise is None:
                enterprise = unsaved(
                    Enterprise,
                    name=parsed.enterprise,
                    credit_code=parsed.credit_code,
                    size=parsed.size or Enterprise.Size.OTHER,
                )
                known[parsed.credit_code] = enterprise
                new.append(enterprise)
                continue
            size = parsed.size or enterprise.size
            if enterprise.name != parsed.enterprise or enterprise.size != size:
                enterprise.name, enterprise.size = parsed.enterprise, size
                if enterprise.pk is not None:
                    changed[enterprise.pk] = enterprise
        for enterprise, pk in zip(new, self.tables.allocate_ids(Enterprise, len(new)), strict=True):
            enterprise.pk = pk
        self.tables.insert(Enterprise, new)
        self.tables.update(Enterprise, list(changed.values()), ["name", "size"])
        for enterprise in [*new, *changed.values()]:
            self.enterprises[enterprise.credit_code] = (enterprise.pk, enterprise.name, enterprise.size)
        renamed = [pk for pk, enterprise in changed.items() if enterprise.name != names_before[pk]]
        return known, renamed

    def _next_serial(self, region: Region, year: int) -> int:
        key = (region.pk, year)
        if key not in self.serials:
            # As ``next_serial``: the counter (created when missing), or the highest serial on record.
            counter, _created = CaseNumberCounter.objects.select_for_update().get_or_create(region=region, year=year)
            highest = Case.objects.filter(region=region, year=year).aggregate(m=Max("serial"))["m"] or 0
            self.counters[key] = counter
            self.serials[key] = max(counter.last_serial, highest)
        self.serials[key] += 1
        return self.serials[key]

    def _due(self, received_at: dt.datetime, days: int) -> workdays.Due:
        key = (received_at.astimezone(self.zone).date(), days)
        if key not in self.dues:
            self.dues[key] = self.calendar.add_working_days(*key)
        return self.dues[key]

    def _cases(self, rows: list[ParsedRow], enterprises: dict[str, Enterprise]) -> tuple[list[Case], list]:
        """The batch's case rows (foreign keys by id: cheaper to build) and each one's department."""
        cases, departments = [], []
        for parsed, pk in zip(rows, self.tables.allocate_ids(Case, len(rows)), strict=True):
            region = parsed.region
            year = parsed.received_at.astimezone(self.zone).year
            serial = self._next_serial(region, year)
            given = parsed.due_date
            due = (
                workdays.Due(given, False, "given")
                if given
                else self._due(parsed.received_at, parsed.category.deadline_for(complex=False))
            )
            closed = parsed.state in (State.RESOLVED, State.EXPLAINED)
            routed = parsed.state != State.RECEIVED
            explained = parsed.state == State.EXPLAINED
            department = self.find_department(region, parsed.department) if routed else None
            cases.append(
                _model(
                    Case,
                    id=pk,
                    region_id=region.id,
                    year=year,
                    serial=serial,
                    number=f"{region.code}-{year}-{serial:05d}",
                    ref=parsed.ref,
                    enterprise_id=enterprises[parsed.credit_code].id,
                    contact_name=parsed.contact_name.strip()[:50],
                    contact_phone=parsed.contact_phone.strip()[:30],
                    category_id=parsed.category.id,
                    channel_id=parsed.channel.id,
                    description=parsed.description.strip(),
                    received_at=parsed.received_at,
                    state=parsed.state,
                    complex=False,
                    department_id=department.id if department is not None else None,
                    assigned_at=parsed.assigned_at if routed else None,
                    first_assigned_at=parsed.assigned_at if routed else None,
                    acknowledged_at=None,
                    due_date=due.date,
                    due_date_provisional=due.provisional,
                    calendar_version=due.calendar_version,
                    extension_days=0,
                    supervised=False,
                    result=parsed.result.strip() if closed else "",
                    policy_basis=parsed.policy_basis.strip() if explained else "",
                    redirect_to=parsed.redirect_to.strip() if explained else "",
                    closed_at=parsed.closed_at if closed else None,
                    reopen_count=0,
                    satisfaction="",
                    created_by_id=self.by.pk,
                    created_at=parsed.received_at,
                    updated_at=self.now,
                )
            )
            departments.append(department)
        return cases, departments

    def _evidence(self, rows: list[ParsedRow], cases: list[Case]) -> list[list[Evidence]]:
        """Each closed case's evidence references, as ``import_closing`` records them."""
        per_case: list[list[Evidence]] = []
        for parsed, case in zip(rows, cases, strict=True):
            items = []
            if parsed.state in (State.RESOLVED, State.EXPLAINED):
                for ref in parsed.evidence:
                    if ref.strip():
                        ref = ref.strip()[:200]
                        items.append(
                            unsaved(
                                Evidence,
                                case_id=case.id,
                                original_name=ref,
                                reference=ref,
                                uploaded_by_id=self.by.pk,
                                uploaded_at=parsed.closed_at,
                            )
                        )
            per_case.append(items)
        ids = iter(self.tables.allocate_ids(Evidence, sum(len(items) for items in per_case)))
        for items in per_case:
            for item in items:
                item.id = next(ids)
        return per_case

    def _chain(
        self,
        parsed: ParsedRow,
        case: Case,
        department: Department | None,
        evidence: list[Evidence],
        assignments: list[CaseAssignment],
    ) -> list[LedgerEntry]:
        """The case's entries as ``create_case``, ``assign`` and ``import_closing`` append them."""
        by, now = self.by, self.now
        create = next_entry(
            case,
            None,
            action="create",
            actor=by,
            to_state=State.RECEIVED,
            occurred_at=parsed.received_at,
            recorded_at=now,
            source=Source.IMPORT,
            due_date=case.due_date,
            payload={
                "enterprise": parsed.enterprise,
                "credit_code": parsed.credit_code,
                "size": parsed.size or None,
                "category": parsed.category.code,
                "channel": parsed.channel.code,
                "description": case.description,
                "contact_name": case.contact_name,
                "contact_phone": case.contact_phone,
                "received_at": parsed.received_at.isoformat(),
                "deadline_days": parsed.category.deadline_for(complex=False),
                "ref": parsed.ref,
            },
        )
        chain = [create]
        if parsed.state == State.RECEIVED:
            return chain
        assignments.append(
            _model(
                CaseAssignment, id=None, case_id=case.id, department_id=department.id, assigned_at=parsed.assigned_at
            )
        )
        # Routing counts the due date again (from the given date, or the category's days): the
        # same date as at creation, so the routing entry does not carry one.
        chain.append(
            next_entry(
                case,
                create,
                action="assign",
                actor=by,
                from_state=State.RECEIVED,
                to_state=State.ASSIGNED,
                occurred_at=parsed.assigned_at,
                recorded_at=now,
                source=Source.IMPORT,
                due_date=None,
                payload={"department": department.id, "department_name": department.name, "complex": False},
            )
        )
        if parsed.state not in (State.RESOLVED, State.EXPLAINED):
            return chain
        if parsed.state == State.RESOLVED:
            payload = {"result": case.result}
        else:
            payload = {"result": case.result, "policy_basis": case.policy_basis, "redirect_to": case.redirect_to}
        payload["evidence"] = [{"id": item.id, "reference": item.reference} for item in evidence]
        chain.append(
            next_entry(
                case,
                chain[-1],
                action="resolve" if parsed.state == State.RESOLVED else "explain",
                actor=by,
                from_state=State.ASSIGNED,
                to_state=parsed.state,
                occurred_at=parsed.closed_at,
                recorded_at=now,
                source=Source.IMPORT,
                payload=payload,
            )
        )
        return chain


def existing_refs(rows: Iterable[ParsedRow]) -> set[tuple[int, str]]:
    """The (region id, number) of these rows that are cases already (idempotency by 编号, in both
    passes): on PostgreSQL one query, the pairs joined to the cases' (region, number) index; else
    one query per region."""
    wanted = {(parsed.region.pk, parsed.ref) for parsed in rows}
    if not wanted:
        return set()
    if connection.vendor == "postgresql":
        regions, refs = zip(*wanted, strict=True)
        table = connection.ops.quote_name(Case._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT c.region_id, c.ref FROM {table} c "  # noqa: S608 - a model's table
                "JOIN unnest(%s::integer[], %s::text[]) AS wanted(region_id, ref) "
                "ON c.region_id = wanted.region_id AND c.ref = wanted.ref",
                [list(regions), list(refs)],
            )
            return {(region_id, ref) for region_id, ref in cursor.fetchall()}
    by_region: dict[int, set[str]] = {}
    for region_id, ref in wanted:
        by_region.setdefault(region_id, set()).add(ref)
    existing: set[tuple[int, str]] = set()
    for region_id, refs_in_region in by_region.items():
        existing |= {
            (region_id, ref)
            for ref in Case.objects.filter(region_id=region_id, ref__in=refs_in_region)
            .order_by()
            .values_list("ref", flat=True)
        }
    return existing


def _enterprises_on_record(codes: list[str]) -> list[Enterprise]:
    return list(Enterprise.objects.filter(credit_code__in=codes))


def _model(model: type[Model], **values) -> Model:
    """An instance to be written by COPY and read by the batch's listeners, never saved: every
    concrete field's value by attname, set as they are (a missing or unknown field is an error,
    not a default). Without ``Model.__init__``, whose descriptors and init signals cost a batch a
    fifth of its time: what they would add — the routing model's ``_remember`` (the one init
    listener of these models, on a case) and django-fsm's initial state — serves a later ``save``
    only, which these instances never have."""
    attnames = _ATTNAMES.get(model)
    if attnames is None:
        attnames = _ATTNAMES[model] = frozenset(field.attname for field in model._meta.concrete_fields)
    if values.keys() != attnames:
        raise TypeError(f"{model.__name__}: give exactly {sorted(attnames)}, not {sorted(values)}")
    instance = model.__new__(model)
    instance.__dict__.update(values)
    state = instance._state = ModelState()
    state.adding, state.db = False, DEFAULT_DB_ALIAS  # as a row read back
    return instance


_ATTNAMES: dict[type[Model], frozenset[str]] = {}


def texts_of(parsed: ParsedRow) -> tuple[str, ...]:
    """What the search row and the routing model segment of a row: its description, enterprise's
    name and closing texts (all of them ahead, so this process needs no jieba dictionary at all)."""
    return (
        parsed.description.strip(),
        parsed.enterprise,
        parsed.result.strip(),
        parsed.policy_basis.strip(),
        parsed.redirect_to.strip(),
    )


def _ids_needed(rows: list[ParsedRow]) -> dict[type[Model], int]:
    """How many rows of each table these rows make (besides enterprises)."""
    routed = sum(1 for parsed in rows if parsed.state != State.RECEIVED)
    closed = (State.RESOLVED, State.EXPLAINED)
    return {
        Case: len(rows),
        LedgerEntry: sum(_entry_count(parsed) for parsed in rows),
        CaseAssignment: routed,
        DepartmentCase: routed,
        Evidence: sum(1 for parsed in rows if parsed.state in closed for ref in parsed.evidence if ref.strip()),
    }


def _entry_count(parsed: ParsedRow) -> int:
    return {State.RECEIVED: 1, State.ASSIGNED: 2}.get(parsed.state, 3)
