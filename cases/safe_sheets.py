"""The one way the app writes a cell of a spreadsheet a user downloads (CSV or XLSX).

Whatever an enterprise, an office or a department typed ends up in a file someone opens in Excel
or WPS: the 台帐 exports, the notice sent to leaders, the scoresheet and scoreboard, the import
template and the import error report. Two things must never reach such a file as they were typed:

- characters XML forbids (``\\x00``–``\\x08``, ``\\x0b``, ``\\x0c``, ``\\x0e``–``\\x1f``): openpyxl
  refuses them with an exception (a 500 for everyone who can see that case), so they are removed;
- text starting with ``= + - @`` or a tab / carriage return: Excel runs it as a formula
  (``=HYPERLINK("http://evil.example/d","部门")`` becomes a live link). In CSV such text gets a
  leading ``'``; in XLSX it is written as a text cell with the quote-prefix style, so it shows as
  typed and stays text even when someone edits the cell.

Every writer builds its cells with the functions below (``cell`` for write-only sheets,
``append``/``put`` for ordinary ones, ``csv_row`` for CSV) and saves with ``workbook_bytes``, which
checks every cell of an ordinary workbook once more before the file leaves.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def clean(text: str) -> str:
    """The text without the control characters XML (and so XLSX) cannot hold; tab and newlines stay."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def _value(value):
    return clean(value) if isinstance(value, str) else value


# -- CSV -------------------------------------------------------------------------------------


def csv_field(value) -> str:
    """A value as CSV text: control characters removed, formula-like text prefixed with ``'``."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return str(value)
    text = clean(value)
    return "'" + text if looks_like_formula(text) else text


def csv_row(values: Iterable) -> list[str]:
    return [csv_field(value) for value in values]


# -- XLSX ------------------------------------------------------------------------------------


def protect(target):
    """Make one cell (ordinary or write-only) safe in place: text cleaned, formula-like text kept as text."""
    value = target.value
    if isinstance(value, str):
        cleaned = clean(value)
        if cleaned != value:
            target.value = cleaned
        if looks_like_formula(cleaned):
            target.data_type = "s"
            target.quotePrefix = True
    return target


def cell(sheet, value) -> Cell:
    """A cell for a write-only sheet; set styles on it before appending it."""
    return protect(WriteOnlyCell(sheet, value=_value(value)))


def append(sheet, values: Iterable) -> None:
    """Append a row to any sheet (write-only or ordinary), every value made safe."""
    values = list(values)
    if not isinstance(sheet, Worksheet):  # write-only: cells are written out as they are appended
        sheet.append([protect(v) if isinstance(v, Cell) else cell(sheet, v) for v in values])
        return
    sheet.append([_value(v) for v in values])
    if values:
        for written in sheet[sheet.max_row]:
            protect(written)


def put(sheet: Worksheet, row: int, column: int, value):
    """Set one cell of an ordinary sheet; returns the cell for styling."""
    return protect(sheet.cell(row=row, column=column, value=_value(value)))


def workbook_bytes(workbook: Workbook) -> bytes:
    """The saved workbook. An ordinary one has each of its cells checked once more on the way out
    (a write-only one has written its rows already, each through ``cell``/``append``)."""
    if not workbook.write_only:
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows():
                for one in row:
                    protect(one)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
