"""Reading an uploaded ledger file row by row, in bounded memory, whatever Excel wrote.

XLSX is read with openpyxl in read-only mode (rows streamed from the sheet XML); CSV is decoded
incrementally with the encoding detected from the first block (UTF-8 with or without BOM,
GB18030 as Excel writes it on Chinese Windows, UTF-16 from "Unicode text"). Junk is refused from
the first block, before the rest of the file is read.
"""
from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from charset_normalizer import from_bytes
from django.utils.translation import gettext as _

from .columns import REQUIRED_KEYS, describe, key_for

SNIFF_BYTES = 64 * 1024
MAX_LINE_CHARS = 1_000_000  # a CSV record longer than this is not a ledger row
MAX_FIELD_CHARS = 100_000
HEADER_SEARCH_ROWS = 10  # a title row or two above the header is common in office spreadsheets
MAX_XLSX_PART_BYTES = 1024 * 1024 * 1024  # refuse zip bombs before openpyxl inflates them


class FileProblem(Exception):
    """The file as a whole cannot be read: not a spreadsheet, empty, no header…"""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None):
        super().__init__(message)
        self.message = str(message)
        self.row = row
        self.column = column


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

    def header_of(self, key: str) -> str:
        return self.headers.get(key) or describe(key)


def open_sheet(path: str | Path) -> Sheet:
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise FileProblem(_("The file is empty."))
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(path)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise FileProblem(_("Old Excel 97-2003 (.xls) files cannot be read. Save the file as .xlsx or CSV and upload it again."))
    encoding = detect_encoding(head, complete=size <= SNIFF_BYTES)
    return _open_csv(path, encoding, size)


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
    raise FileProblem(
        _("No header row found: the first row must name the columns (编号, 县区代码, 企业名称, …)."), row=1
    )


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
            raise FileProblem(_("The file contains bytes that are not valid text in its encoding; save it again as UTF-8 CSV.")) from None
        if not line:
            return
        if len(line) >= MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
            raise FileProblem(_("The file is not a spreadsheet: a line is far too long."))
        yield line


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _open_csv(path: Path, encoding: str, size: int) -> Sheet:
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

    def rows() -> Iterator[tuple[int, list]]:
        number = 0
        try:
            for record in reader:
                number += 1
                yield number, record
        except csv.Error as error:
            raise FileProblem(_("Row %(row)d cannot be read as CSV (%(error)s).") % {"row": number + 1, "error": error},
                              row=number + 1) from None

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


def _open_xlsx(path: Path) -> Sheet:
    from openpyxl import load_workbook

    not_xlsx = _("The file is not a spreadsheet: upload an .xlsx workbook or a CSV file.")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" not in names:
                raise FileProblem(not_xlsx)
            if any(info.file_size > MAX_XLSX_PART_BYTES for info in archive.infolist()):
                raise FileProblem(_("The workbook is too large to import."))
    except (zipfile.BadZipFile, OSError):
        raise FileProblem(not_xlsx) from None
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds on a damaged workbook
        raise FileProblem(_("The workbook cannot be read; open it in Excel and save it again as .xlsx.")) from None
    total = sheet.max_row if isinstance(sheet.max_row, int) and sheet.max_row > 0 else None
    state = {"row": 0}

    def rows() -> Iterator[tuple[int, list]]:
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                state["row"] = number
                yield number, list(values)
        except FileProblem:
            raise
        except Exception:  # noqa: BLE001
            raise FileProblem(_("The workbook cannot be read past row %(row)d; open it in Excel and save it again.")
                              % {"row": state["row"]}, row=state["row"] + 1) from None

    def progress() -> float | None:
        return min(state["row"] / total, 1.0) if total else None

    try:
        return _sheet(rows(), close=workbook.close, progress=progress)
    except BaseException:
        workbook.close()
        raise
