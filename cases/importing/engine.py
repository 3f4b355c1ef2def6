"""Importing an office's existing ledger (SPEC §7): validate everything first, then write it all.

Pass one streams the file and checks every row (collecting every error, and what would be
created), keeping the rows as checked in a temporary file (``_Spool``); pass two, only when there
is no error and this is not a dry run, writes those rows inside one transaction, so an import is
all-or-nothing and writes what was checked. It writes in batches
(``bulk.BulkWriter``: COPY on PostgreSQL, executemany on SQLite) with the same result as the
ordinary services row by row; ``IMPORT_WRITE_PATH = "services"`` (or ``write_path=``) writes
through the services instead, the path the bulk one is compared against. Memory stays bounded
by one batch of rows plus a set of the file's numbers; the temporary file takes about 600 bytes a
row on disk, and is gone when the import ends.

Real county workbooks carry more than the table: a title above the header, a 序号 column, a
closing 合计 or 备注 row (skipped and listed, not an error: ``rows.note_text``) and one sheet per
year or per county (every sheet with a header is imported, its rows reported with its name).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import services
from cases.departments import create_department
from cases.errors import CaseError, NotAllowed
from cases.models import Case, Department, Region, State
from cases.roles import acts_for_region, is_office
from cases.search.segment import AheadSegmenter, Ticket
from ledger.models import Source

from . import bulk as _bulk
from .bulk import BulkWriter, existing_refs, texts_of
from .columns import BY_KEY, REQUIRED_KEYS, describe
from .locks import lock_regions
from .reader import FileProblem, NoHeader, Sheet, open_sheets, time_check
from .rows import ParsedRow, References, RowError, note_text, parse_row
from .tables import fewer_collections, write_session

# Batches whose texts the segmenting child may have yet to answer while pass one checks (``_Spool``):
# their texts wait in memory, about 0.8 MB a batch.
AHEAD_BATCHES = 24
MAX_LISTED_ERRORS = 10_000
MAX_LISTED_SKIPPED = 1_000
WRITE_PATHS = ("bulk", "services")
PROGRESS_EVERY = 200
# Service field names → the column a user sees in the file.
SERVICE_FIELDS = {
    "enterprise_name": "enterprise",
    "credit_code": "credit_code",
    "received_at": "received_at",
    "department": "department",
    "result": "result",
    "ref": "ref",
    "description": "description",
    "policy_basis": "policy_basis",
    "redirect_to": "redirect_to",
    "evidence": "evidence",
}

Progress = Callable[[str, int, float | None], None]


@dataclass
class Summary:
    """What an import did (or, in a dry run, would do). The command, the page and the API show this."""

    dry_run: bool
    created: int = 0
    unchanged: int = 0
    departments_created: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    error_count: int = 0
    rows: int = 0
    skipped: list[dict] = field(default_factory=list)
    skipped_count: int = 0
    sheets: list[str] = field(default_factory=list)  # the workbook's sheets, in order (to list by)

    def add_error(self, row: int | None, column: str | None, message: str, *, sheet: str | None = None) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append({"sheet": sheet, "row": row, "column": column, "message": str(message)})

    def add_skipped(self, row: int | None, text: str, reason: str, *, sheet: str | None = None) -> None:
        self.skipped_count += 1
        if len(self.skipped) < MAX_LISTED_SKIPPED:
            self.skipped.append({"sheet": sheet, "row": row, "text": text, "reason": str(reason)})

    def as_dict(self) -> dict:
        order = {name: index for index, name in enumerate(self.sheets)}

        def place(item: dict) -> tuple:
            return order.get(item["sheet"], -1), item["row"] or 0

        return {
            "created": self.created,
            "unchanged": self.unchanged,
            "departments_created": self.departments_created,
            "errors": sorted(self.errors, key=place),
            "dry_run": self.dry_run,
            "rows": self.rows,
            "error_count": self.error_count,
            "skipped": sorted(self.skipped, key=place),
            "skipped_count": self.skipped_count,
        }


class _Abort(Exception):
    """Raised inside the write transaction to roll everything back."""


def check_importer(user) -> None:
    if not is_office(user):
        raise NotAllowed(_("Only a county office or the city office may import a ledger."))


def run_import(
    path: str | Path,
    *,
    by,
    dry_run: bool,
    progress: Progress | None = None,
    time_budget: float | None = None,
    write_path: str | None = None,
) -> dict:
    """Import the ledger file at ``path`` as user ``by``; return the summary as a dict.

    ``write_path``: "bulk" (batches) or "services" (row by row through ``cases.services``);
    default ``settings.IMPORT_WRITE_PATH``.

    Time budgets: reading and checking the file gets ``IMPORT_TIME_BUDGET`` seconds, writing it
    ``IMPORT_WRITE_TIME_BUDGET``; a caller that must answer quickly (the API) passes
    ``time_budget`` for both passes together. Past it the import stops with a file error and
    nothing is written."""
    check_importer(by)
    write_path = write_path or getattr(settings, "IMPORT_WRITE_PATH", "bulk")
    if write_path not in WRITE_PATHS:
        raise ValueError(f"write_path must be one of {WRITE_PATHS}, not {write_path!r}")
    now = timezone.now()
    progress = progress or (lambda phase, done, fraction: None)
    summary = Summary(dry_run=dry_run)
    refs = References()
    deadline = time.monotonic() + (settings.IMPORT_TIME_BUDGET if time_budget is None else time_budget)
    try:
        spool = _Spool(refs, keep=not dry_run, segment=write_path == "bulk")
    except FileProblem as problem:
        summary.add_error(problem.row, problem.column, problem.message)
        return summary.as_dict()
    with spool:
        try:
            with fewer_collections():  # (checking makes no reference cycles either)
                plan = _validate(
                    Path(path),
                    by=by,
                    refs=refs,
                    now=now,
                    summary=summary,
                    progress=progress,
                    deadline=deadline,
                    spool=spool,
                )
        except FileProblem as problem:
            summary.add_error(problem.row, problem.column, problem.message, sheet=problem.sheet)
            return summary.as_dict()
        if summary.error_count or dry_run or plan is None:
            if summary.error_count:
                summary.created, summary.departments_created = 0, []
            return summary.as_dict()
        if time_budget is None:
            deadline = time.monotonic() + settings.IMPORT_WRITE_TIME_BUDGET
        try:
            _write(
                spool,
                by=by,
                refs=refs,
                now=now,
                summary=summary,
                plan=plan,
                progress=progress,
                deadline=deadline,
                bulk=write_path == "bulk",
            )
        except FileProblem as problem:
            summary.add_error(problem.row, problem.column, problem.message, sheet=problem.sheet)
    if summary.error_count:
        summary.created, summary.unchanged, summary.departments_created = 0, 0, []
    return summary.as_dict()


# -- pass one: validate ----------------------------------------------------------------------


@dataclass
class _Plan:
    departments: dict[tuple[int, str], Region] = field(default_factory=dict)  # to create
    regions: set[int] = field(default_factory=set)  # ids of the regions it creates cases in (locked up front)


class _Departments:
    """The departments known per region (small), and the city's, which serve every region."""

    def __init__(self):
        self.by_region: dict[tuple[int, str], Department] = {}
        self.city: dict[str, Department] = {}
        for department in Department.objects.select_related("region"):
            self.by_region[(department.region_id, department.name)] = department
            if department.region.is_city:
                self.city.setdefault(department.name, department)

    def find(self, region: Region, name: str) -> Department | None:
        return self.by_region.get((region.pk, name)) or self.city.get(name)


def _is_blank(cells: list) -> bool:
    return all(cell is None or str(cell).strip() == "" for cell in cells)


def _ledger_sheets(path: Path, summary: Summary, deadline: float) -> Iterator[Sheet]:
    """Pass one reads the file here (pass two, its rows as checked).

    A workbook's sheets without a header are listed as skipped; a sheet whose header lacks a
    required column is an error. When no sheet has a header, that is the file's error."""
    no_header: NoHeader | None = None
    found = False
    for sheet in open_sheets(path, deadline=deadline):
        name = sheet.sheet if isinstance(sheet, NoHeader) else sheet.name
        if name is not None and name not in summary.sheets:
            summary.sheets.append(name)
        if isinstance(sheet, NoHeader):
            no_header = no_header or sheet
            summary.add_skipped(
                None,
                sheet.sheet or "",
                _("This sheet has no header row naming the ledger's columns; it was not read."),
                sheet=sheet.sheet,
            )
            continue
        found = True
        if sheet.missing:
            for key in sheet.missing:
                summary.add_error(
                    sheet.header_row,
                    describe(key),
                    _("The required column “%(column)s” is missing from the header row.") % {"column": describe(key)},
                    sheet=sheet.name,
                )
            continue
        yield sheet
    if not found and no_header is not None:
        summary.skipped, summary.skipped_count = [], 0
        raise FileProblem(no_header.message, row=no_header.row)


def _data_rows(sheet: Sheet, summary: Summary) -> Iterator[tuple[int, list]]:
    """The sheet's rows that hold a case: blank rows are passed over, totals and notes (合计, 备注,
    填报人…) skipped and listed."""
    for number, cells in sheet.rows:
        if _is_blank(cells):
            continue
        text = note_text(cells, sheet.columns, REQUIRED_KEYS)
        if text is not None:
            summary.add_skipped(number, text, _("A total or a note, not a case."), sheet=sheet.name)
            continue
        yield number, cells


class _Pass:
    """What both passes share: who imports, the reference data, the moment, and the summary."""

    def __init__(self, *, by, refs: References, now: dt.datetime, summary: Summary):
        self.by, self.refs, self.now, self.summary = by, refs, now, summary
        self.departments = _Departments()


def _validate(
    path: Path,
    *,
    by,
    refs: References,
    now: dt.datetime,
    summary: Summary,
    progress: Progress,
    deadline: float,
    spool: _Spool,
) -> _Plan | None:
    checking = _Validation(by=by, refs=refs, now=now, summary=summary, on_record=spool.on_record)
    for sheet in _ledger_sheets(path, summary, deadline):
        try:
            for number, cells in _data_rows(sheet, summary):
                parsed = checking.row(number, cells, sheet)
                if not parsed.errors and not summary.error_count:
                    spool.add(parsed, sheet)
                else:  # nothing will be written
                    spool.stop_segmenting()
                if summary.rows % PROGRESS_EVERY == 0:
                    progress("validating", summary.rows, sheet.file_progress())
        finally:
            sheet.close()
    # Once, after the last sheet, not after each: the lookups stay in step with the spool's
    # batches (the writer's), which run on across sheets.
    checking.flush()
    if summary.rows == 0 and not summary.error_count:
        summary.add_error(None, None, _("The file has a header but no rows to import."))
    summary.departments_created = [
        {"region": region.code, "name": name} for (_region_id, name), region in checking.plan.departments.items()
    ]
    progress("validating", summary.rows, 1.0)
    return checking.plan


class _Validation(_Pass):
    """Pass one: each row parsed and checked, then counted against the database in batches
    (already imported, or to create — with the departments to create for it)."""

    def __init__(self, *, on_record: Callable[[set[tuple[int, str]]], None], **kwargs):
        super().__init__(**kwargs)
        self.on_record = on_record  # told the rows found on record, batch by batch
        self.plan = _Plan()
        self.seen: dict[tuple[int, str], tuple[str | None, int]] = {}
        self.batch: list[tuple[ParsedRow, Sheet]] = []

    def row(self, number: int, cells: list, sheet: Sheet) -> ParsedRow:
        self.summary.rows += 1
        parsed = parse_row(
            number,
            cells,
            sheet,
            self.refs,
            now=self.now,
            region_allowed=lambda region: acts_for_region(self.by, region),
        )
        if parsed.region is not None and parsed.ref:
            _check_repeated(parsed, sheet, self.seen)
        for problem in parsed.errors:
            self.summary.add_error(problem.row, problem.column, problem.message, sheet=sheet.name)
        if not parsed.errors:
            self.batch.append((parsed, sheet))
            # The numbers on record looked up as many rows at a time as the writer's batches (one query
            # per batch on PostgreSQL, one per region and batch on SQLite): found by the time the
            # spool keeps the same rows, whose texts then go to the segmenter without theirs.
            if len(self.batch) >= _bulk.BATCH_ROWS:
                self.flush()
        return parsed

    def flush(self) -> None:
        existing = existing_refs(parsed for parsed, _sheet in self.batch)
        self.on_record(existing)
        for parsed, sheet in self.batch:
            if (parsed.region.pk, parsed.ref) in existing:
                self.summary.unchanged += 1
            elif self.department_usable(parsed, sheet):
                self.summary.created += 1
                self.plan.regions.add(parsed.region.pk)
        self.batch.clear()

    def department_usable(self, parsed: ParsedRow, sheet: Sheet) -> bool:
        """A routed row's department is known and active, or is to be created with the import."""
        if parsed.state == State.RECEIVED:
            return True
        department = self.departments.find(parsed.region, parsed.department)
        if department is None:
            self.plan.departments.setdefault((parsed.region.pk, parsed.department), parsed.region)
        elif not department.active:
            self.summary.add_error(
                parsed.row,
                sheet.header_of("department"),
                _("The department “%(name)s” is no longer active.") % {"name": parsed.department},
                sheet=sheet.name,
            )
            return False
        return True


def _check_repeated(parsed: ParsedRow, sheet: Sheet, seen: dict[tuple[int, str], tuple[str | None, int]]) -> None:
    """A number may appear once in the whole file, across its sheets."""
    key = (parsed.region.pk, parsed.ref)
    if key not in seen:
        seen[key] = (sheet.name, parsed.row)
        return
    other_sheet, other_row = seen[key]
    if other_sheet == sheet.name:
        message = _("The number %(ref)s appears twice in the file (also in row %(row)d).") % {
            "ref": parsed.ref,
            "row": other_row,
        }
    else:
        message = _("The number %(ref)s appears twice in the file (also in row %(row)d of sheet “%(sheet)s”).") % {
            "ref": parsed.ref,
            "row": other_row,
            "sheet": other_sheet,
        }
    parsed.errors.append(RowError(parsed.row, sheet.header_of("ref"), message))


# -- between the passes ------------------------------------------------------------------------


class _Spool:
    """Pass one's rows as it checked them, for pass two: kept in a temporary file (a batch of rows
    a pickle, the regions, categories and channels by id), so that pass two neither reads nor checks
    the file again — reading and parsing a row cost about as much as checking it — and writes
    exactly what was checked, even when the file changes in between. ``keep=False`` (a dry run)
    keeps nothing. Memory: one batch.

    ``segment`` (the bulk write path): each batch of rows kept — the bulk writer's batches, the
    same rows — has the texts of its rows not on record (``on_record``) segmented in a child
    process (``AheadSegmenter``) while pass one goes on, so that the words are ready when the
    writer needs them: checking keeps one core busy and leaves the other free, and writing keeps
    both. Only for a file of at least
    ``AHEAD_ROWS`` rows (a child costs a second or two to start), and at most ``AHEAD_BATCHES``
    batches the child has yet to answer (their texts wait in memory): a batch past that is
    segmented ahead by the writer instead. ``segmented``: each batch's ticket by its index, with
    its first row's (region id, 编号) for the writer to match it by. The spool closes the child."""

    FIELDS = tuple(f.name for f in dataclasses.fields(ParsedRow) if f.name != "errors")
    REFERENCES = ("region", "category", "channel")
    AT = tuple(map(FIELDS.index, REFERENCES))

    def __init__(self, refs: References, *, keep: bool, segment: bool = False):
        self.keep = keep
        try:
            self.file = tempfile.TemporaryFile(prefix="caseledger-import-") if keep else None
        except OSError as error:
            raise _no_room() from error
        self.sheets: list[Sheet] = []
        self.pending: list[tuple] = []
        self.by_id = {
            name: {item.pk: item for item in index.values()}
            for name, index in (("region", refs.regions), ("category", refs.categories), ("channel", refs.channels))
        }
        if refs.default_channel is not None:
            self.by_id["channel"][refs.default_channel.pk] = refs.default_channel
        self.segmenter = AheadSegmenter(ahead=True) if keep and segment else None
        self.segmented: dict[int, tuple[tuple[int, str], Ticket | None]] = {}
        self.batches = 0  # batches dumped
        self.kept = 0  # rows kept
        self.texts: list[tuple[tuple[int, str], tuple[str, ...]]] = []  # the batch under way's, by row
        self.recorded: set[tuple[int, str]] = set()  # (region id, 编号) found on record since the last batch
        self.early: list[tuple[int, tuple[int, str], list[str]]] = []  # batches kept before AHEAD_ROWS rows

    def __enter__(self) -> _Spool:
        return self

    def on_record(self, keys: set[tuple[int, str]]) -> None:
        """These rows' (region id, 编号) are cases already: nothing of theirs will be written, so their
        texts are not segmented (importing a file again segments nothing)."""
        if self.segmenter is not None:
            self.recorded |= keys

    def stop_segmenting(self) -> None:
        """Pass one found an error, so nothing will be written: the child stops now (it may have
        batches to answer), not when the import ends."""
        if self.segmenter is not None:
            segmenter, self.segmenter = self.segmenter, None
            self.segmented.clear()
            segmenter.close()

    def __exit__(self, *exc) -> None:
        try:
            if self.segmenter is not None:
                self.segmenter.close()
        finally:
            if self.file is not None:
                self.file.close()

    def add(self, parsed: ParsedRow, sheet: Sheet) -> None:
        if not self.keep:
            return
        if not self.sheets or self.sheets[-1].name != sheet.name:  # its name and headers, not its rows
            self.sheets.append(dataclasses.replace(sheet, rows=iter(()), close=lambda: None, progress=lambda: None))
        values = [getattr(parsed, name) for name in self.FIELDS]
        for index in self.AT:
            values[index] = values[index].pk if values[index] is not None else None
        self.pending.append((len(self.sheets) - 1, *values))
        if self.segmenter is not None:
            self.texts.append(((values[self.AT[0]], parsed.ref), texts_of(parsed)))
        if len(self.pending) >= _bulk.BATCH_ROWS:  # (the writer's batches: the same rows)
            self._dump()

    def _dump(self, *, last: bool = False) -> None:
        first = self.pending[0]
        try:
            pickle.dump(self.pending, self.file, protocol=pickle.HIGHEST_PROTOCOL)
        except OSError as error:  # the temporary directory is full (or gone)
            raise _no_room() from error
        self.kept += len(self.pending)
        self.pending = []
        if self.segmenter is not None:
            # The texts of the rows not on record (as far as pass one has looked them up: it looks
            # in batches, which may end after this one), with the first row's region id and 编号,
            # as the writer's batch will have them.
            texts = [text for key, row_texts in self.texts if key not in self.recorded for text in row_texts]
            self.early.append((self.batches, (first[1 + self.AT[0]], first[1 + self.FIELDS.index("ref")]), texts))
            self.texts = []
            self.recorded.clear()
            if self.kept >= AHEAD_ROWS:
                for index, row, texts in self.early:
                    ticket = self.segmenter.submit(texts) if self.segmenter.outstanding() < AHEAD_BATCHES else None
                    self.segmented[index] = (row, ticket)
                self.early = []
            elif last:  # too few rows to pay for a child
                self.early = []
        self.batches += 1

    def rows(self, deadline: float | None) -> Iterator[tuple[ParsedRow, Sheet]]:
        """The rows kept, in the file's order, with their sheets; within the import's time budget
        (``deadline``), as reading the file again would be."""
        if self.pending:
            self._dump(last=True)
        check = time_check(deadline, writing=True)
        positions = [(index, self.by_id[name]) for index, name in zip(self.AT, self.REFERENCES, strict=True)]
        self.file.seek(0)
        while True:
            try:
                batch = pickle.load(self.file)
            except EOFError:
                return
            except OSError as error:
                raise _no_room() from error
            for sheet_index, *values in batch:
                check()
                for index, by_id in positions:
                    values[index] = by_id.get(values[index])
                yield ParsedRow(*values), self.sheets[sheet_index]


def _no_room() -> FileProblem:
    return FileProblem(
        _(
            "The server has no room left for the rows being checked; nothing was imported. "
            "Tell the system administrator, or import the file in smaller parts."
        )
    )


# -- pass two: write -------------------------------------------------------------------------

# From this many rows on, the bulk writer segments each batch's texts in a child process while it
# writes the batch before (``cases.search.segment.AheadSegmenter``); below, starting one (about a
# second) costs more than it saves.
AHEAD_ROWS = 5000
# PostgreSQL's SQLSTATE for a deadlock it broke by aborting this transaction.
DEADLOCK_DETECTED = "40P01"


def _write(
    spool: _Spool,
    *,
    by,
    refs: References,
    now: dt.datetime,
    summary: Summary,
    plan: _Plan,
    progress: Progress,
    deadline: float,
    bulk: bool,
) -> None:
    total = summary.rows
    summary.created = summary.unchanged = 0
    summary.departments_created = []
    # Pipelined writes read on a second connection, which sees what is committed: only when this
    # import's transaction is the outermost, so that nothing of the caller's is uncommitted.
    pipelined = bulk and not transaction.get_connection().in_atomic_block
    try:
        with (
            transaction.atomic(),
            write_session() if bulk else nullcontext(),
            fewer_collections() if bulk else nullcontext(),
        ):
            # Every region's lock first, in id order: overlapping imports serialise, never deadlock.
            lock_regions(plan.regions)
            _create_departments(plan, by=by, summary=summary)
            writing = _Writing(
                by=by,
                refs=refs,
                now=now,
                summary=summary,
                bulk=bulk,
                ahead=total >= AHEAD_ROWS,
                pipelined=pipelined,
                segmenter=spool.segmenter,
                segmented=spool.segmented,
                regions=plan.regions,
            )
            try:
                for parsed, sheet in spool.rows(deadline):
                    writing.row(parsed, sheet)
                    if writing.done % PROGRESS_EVERY == 0:
                        progress("writing", writing.done, writing.done / total if total else None)
                writing.finish()
            finally:
                writing.close()
    except _Abort:
        return
    except (IntegrityError, OperationalError) as error:
        if isinstance(error, OperationalError) and getattr(error.__cause__, "sqlstate", None) != DEADLOCK_DETECTED:
            raise
        summary.add_error(
            None, None, _("The import conflicts with a change made at the same time; nothing was imported. Try again.")
        )
        return
    progress("writing", total, 1.0)


def _create_departments(plan: _Plan, *, by, summary: Summary) -> None:
    """The departments the file names that the region does not have yet (pass one listed them)."""
    for (_region_id, name), region in plan.departments.items():
        if not Department.objects.filter(region=region, name=name).exists():
            create_department(by=by, region=region, name=name)
            summary.departments_created.append({"region": region.code, "name": name})


class _Writing(_Pass):
    """Pass two, inside the import's transaction: each row as pass one checked it (``_Spool``)
    written in batches (``BulkWriter``) or one by one through ``cases.services``."""

    def __init__(
        self,
        *,
        bulk: bool,
        ahead: bool = False,
        pipelined: bool = False,
        segmenter: AheadSegmenter | None = None,
        segmented: dict | None = None,
        regions: set[int] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.writer = (
            BulkWriter(
                by=self.by,
                now=self.now,
                find_department=self.departments.find,
                ahead=ahead,
                pipelined=pipelined,
                segmenter=segmenter,
                segmented=segmented,
                regions=regions,
            )
            if bulk
            else None
        )
        self.done = 0

    def row(self, parsed: ParsedRow, sheet: Sheet) -> None:
        self.done += 1
        if self.writer is not None:
            self.writer.add(parsed)
        elif Case.objects.filter(region=parsed.region, ref=parsed.ref).exists():
            self.summary.unchanged += 1
        else:
            _write_row(parsed, by=self.by, departments=self.departments, sheet=sheet, summary=self.summary)
            self.summary.created += 1

    def finish(self) -> None:
        if self.writer is not None:
            self.writer.finish()
            self.summary.created, self.summary.unchanged = self.writer.created, self.writer.unchanged

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _write_row(parsed: ParsedRow, *, by, departments: _Departments, sheet: Sheet, summary: Summary) -> None:
    try:
        case = services.create_case(
            by=by,
            region=parsed.region,
            enterprise_name=parsed.enterprise,
            credit_code_value=parsed.credit_code,
            enterprise_size=parsed.size or None,
            category=parsed.category,
            channel=parsed.channel,
            description=parsed.description,
            contact_name=parsed.contact_name,
            contact_phone=parsed.contact_phone,
            received_at=parsed.received_at,
            ref=parsed.ref,
            due_date=parsed.due_date,
            source=Source.IMPORT,
            now=parsed.received_at,
        )
        if parsed.state == State.RECEIVED:
            return
        case = services.assign(
            case,
            by=by,
            department=departments.find(parsed.region, parsed.department),
            due_date=parsed.due_date,
            source=Source.IMPORT,
            now=parsed.assigned_at,
        )
        if parsed.state in (State.RESOLVED, State.EXPLAINED):
            services.import_closing(
                case,
                by=by,
                state=parsed.state,
                result=parsed.result,
                evidence_refs=parsed.evidence,
                policy_basis=parsed.policy_basis,
                redirect_to=parsed.redirect_to,
                now=parsed.closed_at,
            )
    except CaseError as error:
        key = SERVICE_FIELDS.get(error.field or "")
        column = sheet.header_of(key) if key in BY_KEY else None
        summary.add_error(parsed.row, column, error.message, sheet=sheet.name)
        raise _Abort from None
