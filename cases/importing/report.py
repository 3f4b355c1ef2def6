"""The error report of an import as an XLSX workbook, for the office to correct its file by."""

from __future__ import annotations

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from cases.safe_sheets import append, workbook_bytes


def error_report_bytes(summary: dict, *, file_name: str) -> bytes:
    """Row, column and problem of each listed error; the file name and messages quote what the
    office typed, so every cell goes through ``safe_sheets``."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Errors")[:31]
    append(sheet, [_("Errors found in %(file)s") % {"file": file_name}])
    sheet["A1"].font = Font(bold=True, size=13)
    append(sheet, [_("Sheet"), _("Row"), _("Column"), _("Problem")])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    errors = summary.get("errors") or []
    for error in errors:
        append(
            sheet, [error.get("sheet") or "", error.get("row"), error.get("column") or "", error.get("message") or ""]
        )
    total = summary.get("error_count") or len(errors)
    if total > len(errors):
        append(sheet, [])
        append(
            sheet,
            [_("%(total)d errors in all; the first %(listed)d are listed.") % {"total": total, "listed": len(errors)}],
        )
    for letter, width in zip("ABCD", (14, 8, 18, 90), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A3"
    return workbook_bytes(workbook)
