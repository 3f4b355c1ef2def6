"""CSV and XLSX exports of the filtered 台帐, streamed so that 100k rows never sit in memory.

Rows are read with ``.values_list(...).iterator(chunk_size=2000)`` — one joined query (a server-side
cursor on PostgreSQL), no model instances — and written out as they arrive: CSV straight into
the response, XLSX into openpyxl's write-only workbook on a temporary file that is then streamed
in chunks.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import tempfile
from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from openpyxl import Workbook
from openpyxl.styles import Font

from . import safe_sheets
from .tables import LEDGER_COLUMNS, state_label, timeliness, timeliness_label

CHUNK_SIZE = 2000
VALUE_FIELDS = (
    "number",
    "enterprise__name",
    "category__name",
    "description",
    "received_at",
    "department__name",
    "due_date",
    "state",
    "closed_at",
    "result",
)


def headers() -> list[str]:
    return [str(header) for _name, header in LEDGER_COLUMNS]


def _local(moment: dt.datetime | None) -> dt.datetime | None:
    # Spreadsheets know no time zones: write the Beijing wall-clock time the office reads.
    return timezone.localtime(moment).replace(tzinfo=None, microsecond=0) if moment else None


def ledger_rows(queryset: QuerySet, today: dt.date) -> Iterator[list]:
    """The twelve columns of each case, as Python values (dates stay dates)."""
    rows = queryset.values_list(*VALUE_FIELDS).iterator(chunk_size=CHUNK_SIZE)
    for index, (
        number,
        enterprise,
        category,
        description,
        received_at,
        department,
        due_date,
        state,
        closed_at,
        result,
    ) in enumerate(rows, start=1):
        yield [
            index,
            number,
            enterprise,
            category,
            description,
            _local(received_at),
            department or "",
            due_date,
            state_label(state),
            _local(closed_at),
            result or "",
            timeliness_label(timeliness(state, due_date, closed_at, today)),
        ]


def file_name(extension: str, today: dt.date) -> str:
    return f"台帐-{today:%Y%m%d}.{extension}"


def _csv_value(value):
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class _Echo:
    """A file-like object whose write returns the line, for csv.writer inside a generator."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(queryset: QuerySet, today: dt.date) -> Iterator[bytes]:
    writer = csv.writer(_Echo())
    # The BOM makes Excel read the file as UTF-8 (and show the Chinese).
    yield codecs.BOM_UTF8 + writer.writerow(safe_sheets.csv_row(headers())).encode("utf-8")
    for row in ledger_rows(queryset, today):
        # Text typed by an enterprise is never run by Excel as a formula (safe_sheets).
        yield writer.writerow(safe_sheets.csv_row(_csv_value(value) for value in row)).encode("utf-8")


def csv_response(queryset: QuerySet, today: dt.date) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_csv_lines(queryset, today), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, file_name("csv", today))
    return response


def write_xlsx(queryset: QuerySet, today: dt.date, target) -> None:
    """Write the workbook row by row (openpyxl write-only mode keeps rows on disk, not in memory)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title="台帐")
    widths = [6, 20, 28, 14, 50, 17, 20, 12, 12, 17, 50, 9]
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A2"
    header_cells = []
    for text in headers():
        cell = safe_sheets.cell(sheet, text)
        cell.font = Font(bold=True)
        header_cells.append(cell)
    sheet.append(header_cells)
    datetime_format, date_format = "yyyy-mm-dd hh:mm", "yyyy-mm-dd"
    for row in ledger_rows(queryset, today):
        cells = []
        for value in row:
            # Control characters dropped, formula-like text kept as text (safe_sheets).
            cell = safe_sheets.cell(sheet, value)
            if isinstance(value, dt.datetime):
                cell.number_format = datetime_format
            elif isinstance(value, dt.date):
                cell.number_format = date_format
            cells.append(cell)
        sheet.append(cells)
    workbook.save(target)


def xlsx_response(queryset: QuerySet, today: dt.date) -> FileResponse:
    # An anonymous temporary file: removed by the OS when the response closes it.
    spool = tempfile.TemporaryFile(suffix=".xlsx")
    try:
        write_xlsx(queryset, today, spool)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return FileResponse(
        spool,
        as_attachment=True,
        filename=file_name("xlsx", today),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
