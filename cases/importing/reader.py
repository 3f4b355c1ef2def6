"""Reading an uploaded ledger file row by row, in bounded memory, whatever Excel wrote.

``open_sheets`` yields the file's ledger sheets: a CSV is one; a workbook yields every worksheet in
order (offices keep one per year or per county), each measured against the limits below before any
is read, those without a header as the ``NoHeader`` problem naming them.

XLSX is read with openpyxl in read-only mode (rows streamed from the sheet XML); CSV is decoded
incrementally with the encoding detected from the first block (UTF-8 with or without BOM,
GB18030 as Excel writes it on Chinese Windows, UTF-16 from "Unicode text"). Junk is refused from
the first block, before the rest of the file is read.

Limits, checked before the rows are read so that a hostile file is refused in a moment: the
upload's size (``IMPORT_MAX_BYTES``); for XLSX the unpacked size and compression ratio of every
part (zip bombs), then the sheet's declared size (``<dimension ref>``) and its actual size (the
last ``<row r>`` and the rightmost ``<c r>``, found by one pass over the sheet XML) against
``IMPORT_MAX_ROWS`` rows and ``MAX_COLUMNS`` columns — openpyxl would otherwise pad every row to
the declared width and every gap to the declared height. Then every row read counts against the
same limits and the import's time budget (``deadline``, set by the engine). The dry run and the real run read through
this one reader, so they see the same rows and the same problems (a NUL byte anywhere in a CSV is
one, not only in its first block).
"""

from __future__ import annotations

import codecs
import csv
import io
import posixpath
import re
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from charset_normalizer import from_bytes
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries

from .columns import REQUIRED_KEYS, describe, key_for

SNIFF_BYTES = 64 * 1024
MAX_LINE_CHARS = 1_000_000  # a CSV record longer than this is not a ledger row
MAX_FIELD_CHARS = 100_000
HEADER_SEARCH_ROWS = 10  # a title row or two above the header is common in office spreadsheets
MAX_COLUMNS = 40  # the ledger has 15; a few notes columns beside it are fine
MAX_ZIP_ENTRIES = 1000  # an .xlsx has a dozen parts
MAX_PACKAGE_PART_BYTES = 16 * 1024 * 1024  # workbook.xml and its relationships: small by nature
SUSPICIOUS_RATIO = 100  # sheet XML deflates 5–20 times; a zip bomb thousands of times
SUSPICIOUS_RATIO_FLOOR = 10 * 1024 * 1024  # small parts may compress as well as they like
SCAN_CHUNK = 1024 * 1024


class FileProblem(Exception):
    """The file as a whole cannot be read: not a spreadsheet, empty, no header…"""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None, sheet: str | None = None):
        super().__init__(message)
        self.message = str(message)
        self.row = row
        self.column = column
        self.sheet = sheet


class NoHeader(FileProblem):
    """No header among a sheet's first rows: in a workbook, that sheet is not a ledger."""


@dataclass
class Sheet:
    """An opened file: which column holds what, and an iterator over its data rows."""

    header_row: int
    columns: dict[str, int]  # key → 0-based index
    headers: dict[str, str]  # key → the header as written in the file
    rows: Iterator[tuple[int, list]]  # (row number as Excel shows it, cells)
    missing: list[str] = field(default_factory=list)
    close: callable = lambda: None
    progress: callable = lambda: None  # → fraction of the file read, 0..1, or None
    name: str | None = None  # the worksheet's name in a workbook; None for a CSV file
    place: tuple[int, int] = (0, 1)  # (index, count) among the file's non-empty sheets

    def file_progress(self) -> float | None:
        """The fraction of the whole file read: this sheet's share of its sheets."""
        fraction = self.progress()
        index, count = self.place
        return None if fraction is None else (index + fraction) / count

    def header_of(self, key: str) -> str:
        return self.headers.get(key) or describe(key)


def max_rows() -> int:
    """Rows a file may have, the header and any title rows above it included."""
    return settings.IMPORT_MAX_ROWS


def upload_size_problem(size: int | None) -> str | None:
    """Why an upload of ``size`` bytes is refused before it is stored, or None (the page and the API)."""
    limit = settings.IMPORT_MAX_BYTES
    if size is not None and size > limit:
        return _("The file is too large to import (at most %(limit)s). Split it into smaller files.") % {
            "limit": filesizeformat(limit)
        }
    return None


def time_check(deadline: float | None, *, writing: bool = False) -> Callable[[], None]:
    """A check to call often: raises once the import's time budget is spent (``writing``: the
    write pass's, whose message says so rather than that reading the file took too long)."""
    if deadline is None:
        return lambda: None

    def check() -> None:
        if time.monotonic() > deadline:
            if writing:
                raise FileProblem(
                    _(
                        "Writing the cases took longer than allowed; nothing was imported. "
                        "Split the file into smaller ones and import them one by one."
                    )
                )
            raise FileProblem(
                _(
                    "Reading the file took longer than allowed; nothing was imported. "
                    "Split the file into smaller ones and import them one by one."
                )
            )

    return check


def _too_many_rows(rows: int) -> FileProblem:
    return FileProblem(
        _(
            "The sheet reaches row %(rows)s; at most %(limit)s rows (the header included) can be "
            "imported at once. Split it into smaller files."
        )
        % {"rows": f"{rows:,}", "limit": f"{max_rows():,}"}
    )


def _too_many_columns(columns: int) -> FileProblem:
    return FileProblem(
        _(
            "The sheet reaches column %(column)s; at most %(limit)d columns (up to %(last)s) can be "
            "imported. Delete the columns to the right of the ledger and upload it again."
        )
        % {
            "column": get_column_letter(min(columns, 16384)),
            "limit": MAX_COLUMNS,
            "last": get_column_letter(MAX_COLUMNS),
        }
    )


def open_sheets(path: str | Path, *, deadline: float | None = None) -> Iterator[Sheet | NoHeader]:
    """The ledger sheets of the file at ``path``, one at a time, each with the rows under its header.

    A CSV file is one sheet. A workbook yields each worksheet in order (offices keep one per year or
    per county): a sheet with a header among its first rows as a ``Sheet``, one without as the
    ``NoHeader`` problem naming it (not raised: the caller reports it and reads on); empty sheets
    are passed over. Each sheet is opened when the caller asks for it and closed when it asks for
    the next. ``deadline`` is a ``time.monotonic()`` value after which reading stops with a
    FileProblem."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise FileProblem(_("The file is empty."))
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(b"PK\x03\x04"):
        yield from _open_xlsx(path, time_check(deadline))
        return
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise FileProblem(
            _("Old Excel 97-2003 (.xls) files cannot be read. Save the file as .xlsx or CSV and upload it again.")
        )
    encoding = detect_encoding(head, complete=size <= SNIFF_BYTES)
    sheet = _open_csv(path, encoding, size, time_check(deadline))
    try:
        yield sheet
    finally:
        sheet.close()


# -- encoding --------------------------------------------------------------------------------


def _decodes(head: bytes, encoding: str, complete: bool) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        # final=False: a multi-byte character cut at the end of the sample is not an error.
        decoder.decode(head, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def _looks_like_text(text: str) -> bool:
    if not text:
        return False
    control = sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t")
    return control / len(text) < 0.01


def detect_encoding(head: bytes, *, complete: bool) -> str:
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif b"\x00" in head:
        raise FileProblem(_("The file is not a spreadsheet: upload an .xlsx workbook or a CSV file."))
    elif _decodes(head, "utf-8", complete):
        encoding = "utf-8"
    elif _decodes(head, "gb18030", complete):
        encoding = "gb18030"
    else:
        best = from_bytes(head).best()
        if best is None:
            raise FileProblem(_("The file is not a spreadsheet: upload an .xlsx workbook or a CSV file."))
        encoding = best.encoding
    text = head.decode(encoding, errors="ignore")
    if not _looks_like_text(text):
        raise FileProblem(_("The file is not a spreadsheet: upload an .xlsx workbook or a CSV file."))
    return encoding


# -- header ----------------------------------------------------------------------------------


def _find_header(rows: Iterator[tuple[int, list]]) -> tuple[int, dict[str, int], dict[str, str], list]:
    """Look for the header among the first rows; return it and the data rows read past it."""
    seen = 0
    for number, cells in rows:
        seen += 1
        columns: dict[str, int] = {}
        headers: dict[str, str] = {}
        for index, cell in enumerate(cells):
            key = key_for(cell)
            if key and key not in columns:
                columns[key] = index
                headers[key] = str(cell).strip()
        if len(columns) >= 3:
            return number, columns, headers
        if seen >= HEADER_SEARCH_ROWS:
            break
    if seen == 0:
        raise FileProblem(_("The file is empty."))
    raise NoHeader(_("No header row found: the first row must name the columns (编号, 县区代码, 企业名称, …)."), row=1)


def _sheet(rows: Iterator[tuple[int, list]], **extra) -> Sheet:
    header_row, columns, headers = _find_header(rows)
    missing = [key for key in REQUIRED_KEYS if key not in columns]
    return Sheet(header_row=header_row, columns=columns, headers=headers, rows=rows, missing=missing, **extra)


# -- CSV -------------------------------------------------------------------------------------


def _bounded_lines(text: io.TextIOBase) -> Iterator[str]:
    while True:
        try:
            line = text.readline(MAX_LINE_CHARS)
        except UnicodeDecodeError:
            raise FileProblem(
                _("The file contains bytes that are not valid text in its encoding; save it again as UTF-8 CSV.")
            ) from None
        if not line:
            return
        if len(line) >= MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
            raise FileProblem(_("The file is not a spreadsheet: a line is far too long."))
        yield line


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _open_csv(path: Path, encoding: str, size: int, time_check: Callable[[], None]) -> Sheet:
    raw = path.open("rb")
    text = io.TextIOWrapper(raw, encoding=encoding, newline="")
    try:
        first = text.readline(MAX_LINE_CHARS)
        text.seek(0)
    except UnicodeDecodeError:
        raw.close()
        raise FileProblem(_("The file is not a spreadsheet: upload an .xlsx workbook or a CSV file.")) from None
    csv.field_size_limit(MAX_FIELD_CHARS)
    reader = csv.reader(_bounded_lines(text), delimiter=_delimiter(first))

    limit = max_rows()

    def rows() -> Iterator[tuple[int, list]]:
        number = 0
        try:
            for record in reader:
                number += 1
                time_check()
                if number > limit:
                    raise _too_many_rows(number)
                if any("\x00" in value for value in record):
                    # Excel never writes one; PostgreSQL cannot store one. Refused in every pass alike.
                    raise FileProblem(
                        _(
                            "Row %(row)d contains a NUL byte: the file is damaged or not a CSV text file. "
                            "Open it in Excel, save it again as CSV and upload it again."
                        )
                        % {"row": number},
                        row=number,
                    )
                if len(record) > MAX_COLUMNS:
                    filled = [index for index, value in enumerate(record) if value.strip()]
                    if filled and filled[-1] >= MAX_COLUMNS:
                        raise _too_many_columns(filled[-1] + 1)
                    del record[MAX_COLUMNS:]  # empty cells Excel writes for a formatted area
                yield number, record
        except csv.Error as error:
            raise FileProblem(
                _("Row %(row)d cannot be read as CSV (%(error)s).") % {"row": number + 1, "error": error},
                row=number + 1,
            ) from None

    def progress() -> float | None:
        try:
            return min(raw.tell() / size, 1.0)
        except (OSError, ValueError):
            return None

    iterator = rows()
    try:
        return _sheet(iterator, close=raw.close, progress=progress)
    except BaseException:
        raw.close()
        raise


# -- XLSX ------------------------------------------------------------------------------------


def _check_package(archive: zipfile.ZipFile) -> None:
    """Refuse zip bombs from the sizes the archive declares (zipfile never inflates a part past them)."""
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise FileProblem(_("The workbook has too many parts to be a ledger; it cannot be imported."))
    limit = settings.IMPORT_MAX_UNPACKED_BYTES
    if sum(info.file_size for info in infos) > limit:
        raise FileProblem(
            _("The workbook unpacks to more than %(limit)s; it cannot be imported. Split it into smaller files.")
            % {"limit": filesizeformat(limit)}
        )
    for info in infos:
        if info.file_size > SUSPICIOUS_RATIO_FLOOR and info.file_size > SUSPICIOUS_RATIO * max(info.compress_size, 1):
            raise FileProblem(
                _(
                    "The workbook unpacks to a size out of all proportion to the file (a “zip bomb”); "
                    "it cannot be imported."
                )
            )


def _read_small_part(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    if archive.getinfo(name).file_size > MAX_PACKAGE_PART_BYTES:
        raise FileProblem(_("The workbook cannot be read; open it in Excel and save it again as .xlsx."))
    return ElementTree.fromstring(archive.read(name))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _worksheets(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(name, archive path) of every worksheet, in the workbook's order (as openpyxl lists them)."""
    workbook = _read_small_part(archive, "xl/workbook.xml")
    relations = {}
    for relation in _read_small_part(archive, "xl/_rels/workbook.xml.rels"):
        if relation.get("Type", "").endswith("/worksheet") and relation.get("Target"):
            target = relation.get("Target")
            relations[relation.get("Id")] = (
                target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
            )
    found = []
    for element in workbook.iter():
        if _local(element.tag) == "sheet":
            rid = next((value for key, value in element.attrib.items() if _local(key) == "id"), None)
            if rid in relations:
                found.append((element.get("name") or "", relations[rid]))
    if not found:
        raise FileProblem(_("The workbook has no worksheet to import."))
    return found


DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*?\bref=\"([^\"]*)\"")
ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s/>]")
ROW_NUMBER = re.compile(rb"<(?:\w+:)?row\b[^>]*?\br=\"(\d{1,10})\"")
CELL_COLUMN = re.compile(rb"<(?:\w+:)?c\b[^>]*?\br=\"([A-Za-z]{1,3})\d")


def _check_declared_size(ref: bytes) -> None:
    """The sheet's own claim of its size (``<dimension ref="A1:O120"/>``): refused when too large."""
    try:
        _min_col, _min_row, columns, rows = range_boundaries(ref.decode("ascii").upper())
    except (ValueError, TypeError, UnicodeDecodeError):
        return  # an unreadable claim is ignored: the actual size is measured anyway
    if rows is not None and rows > max_rows():
        raise _too_many_rows(rows)
    if columns is not None and columns > MAX_COLUMNS:
        raise _too_many_columns(columns)


def _measure(archive: zipfile.ZipFile, part: str, time_check: Callable[[], None]) -> tuple[int, int]:
    """The sheet's actual rows and columns, from one streaming pass over its XML (no parsing): the
    highest row number and the rightmost cell reference. Refuses as soon as a limit is passed."""
    rows = tags = columns = 0
    limit = max_rows()
    seen_letters: set[bytes] = set()
    carry = b""
    declared_checked = False
    with archive.open(part) as stream:
        while True:
            time_check()
            chunk = stream.read(SCAN_CHUNK)
            data = carry + chunk
            # Scan up to the last tag start; the rest (a tag maybe cut in two) waits for the next
            # chunk. Data with no tag start past its beginning is text: cut it anywhere, keep a tail.
            cut = len(data)
            if chunk:
                cut = data.rfind(b"<")
                if cut <= 0:
                    cut = max(len(data) - 4096, 0)
            scan, carry = data[:cut], data[cut:]
            if not declared_checked:
                found = DIMENSION.search(scan)
                if found:
                    _check_declared_size(found.group(1))
                    declared_checked = True
                elif ROW_TAG.search(scan):
                    declared_checked = True  # the dimension element comes before the rows or not at all
            numbers = ROW_NUMBER.findall(scan)
            if numbers:
                rows = max(rows, max(int(n) for n in numbers))
            tags += len(ROW_TAG.findall(scan))
            if max(rows, tags) > limit:
                raise _too_many_rows(max(rows, tags))
            seen_letters.update(letter.upper() for letter in CELL_COLUMN.findall(scan))
            if seen_letters:
                columns = max(columns, max(column_index_from_string(x.decode("ascii")) for x in seen_letters))
                seen_letters.clear()
                if columns > MAX_COLUMNS:
                    raise _too_many_columns(columns)
            if not chunk:
                break
    return max(rows, tags), columns


def _open_xlsx(path: Path, time_check: Callable[[], None]) -> Iterator[Sheet | NoHeader]:
    from openpyxl import load_workbook

    not_xlsx = _("The file is not a spreadsheet: upload an .xlsx workbook or a CSV file.")
    try:
        with zipfile.ZipFile(path) as archive:
            if "xl/workbook.xml" not in set(archive.namelist()):
                raise FileProblem(not_xlsx)
            _check_package(archive)
            # Every sheet is measured before any is read: a hostile sheet refuses the whole file.
            parts = [(name, _measure(archive, part, time_check)[0]) for name, part in _worksheets(archive)]
    except KeyError:
        raise FileProblem(_("The workbook cannot be read; open it in Excel and save it again as .xlsx.")) from None
    except (zipfile.BadZipFile, OSError, EOFError, ElementTree.ParseError, zipfile.LargeZipFile, NotImplementedError):
        raise FileProblem(not_xlsx) from None
    if not any(total for _name, total in parts):
        raise FileProblem(_("The file is empty."))
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
        sheets = [workbook[name] for name, _total in parts]
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds on a damaged workbook
        raise FileProblem(_("The workbook cannot be read; open it in Excel and save it again as .xlsx.")) from None
    filled = [(name, total, sheet) for (name, total), sheet in zip(parts, sheets, strict=True) if total]
    try:
        for index, (name, total, worksheet) in enumerate(filled):
            yield _xlsx_sheet(worksheet, name, total, time_check, place=(index, len(filled)))
    finally:
        workbook.close()


def _xlsx_sheet(
    worksheet, name: str, total: int, time_check: Callable[[], None], *, place: tuple[int, int]
) -> Sheet | NoHeader:
    state = {"row": 0}

    def rows() -> Iterator[tuple[int, list]]:
        try:
            # Bounded explicitly: openpyxl pads every row to max_col and fills gaps up to max_row, from
            # the sheet's own claim when not told. (Cells written without a reference, which the
            # measure cannot place, are read up to column MAX_COLUMNS and no further.)
            cells = worksheet.iter_rows(min_row=1, max_row=total, max_col=MAX_COLUMNS, values_only=True)
            for number, values in enumerate(cells, start=1):
                state["row"] = number
                time_check()
                yield number, list(values)
        except FileProblem as problem:
            problem.sheet = name
            raise
        except Exception:  # noqa: BLE001
            raise FileProblem(
                _("The workbook cannot be read past row %(row)d; open it in Excel and save it again.")
                % {"row": state["row"]},
                row=state["row"] + 1,
                sheet=name,
            ) from None

    def progress() -> float | None:
        return min(state["row"] / total, 1.0) if total else None

    try:
        return _sheet(rows(), progress=progress, name=name, place=place)
    except NoHeader as problem:
        problem.sheet = name
        return problem
