"""A notice as an XLSX workbook (openpyxl), laid out the way offices print theirs.

Every row goes through ``cases.safe_sheets``: a department or enterprise named like a formula is
written as text, and control characters typed into a name never break the file."""

from __future__ import annotations

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from cases.safe_sheets import append, workbook_bytes

from .models import Notice
from .services import presentation


def notice_xlsx(notice: Notice) -> bytes:
    view = presentation(notice)
    wb = Workbook()
    ws = wb.active
    ws.title = _("Notice")[:31]
    bold = Font(bold=True)
    append(ws, [notice.title])
    ws["A1"].font = Font(bold=True, size=14)
    append(ws, [_("Region"), notice.region.name, _("Period"), notice.period])
    append(
        ws,
        [
            _("Status"),
            notice.get_status_display(),
            _("Issued on"),
            notice.issued_on.isoformat() if notice.issued_on else "",
        ],
    )
    append(ws, [_("Recipient groups reached"), "、".join(notice.group_labels())])
    if notice.ledger_root:
        append(ws, [_("Ledger checksum of this period (本期台帐校验码)"), notice.ledger_root])
    if notice.covering_text:
        append(ws, [])
        append(ws, [notice.covering_text])
        ws.cell(row=ws.max_row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
    append(ws, [])
    append(ws, [_("Figures")])
    ws.cell(row=ws.max_row, column=1).font = bold
    for label, value in view["rows"]:
        append(ws, [label, value])

    append(ws, [])
    append(ws, [_("Overdue cases")])
    ws.cell(row=ws.max_row, column=1).font = bold
    append(ws, [_("Number"), _("Enterprise"), _("Department"), _("Due date"), _("Days overdue"), _("Supervised")])
    for cell in ws[ws.max_row]:
        cell.font = bold
    for case in view["overdue"]:
        append(
            ws,
            [
                case["number"],
                case["enterprise"],
                case["department"],
                case["due_date"],
                case["days_overdue"],
                _("Yes") if case["supervised"] else "",
            ],
        )

    append(ws, [])
    append(ws, [_("By department")])
    ws.cell(row=ws.max_row, column=1).font = bold
    append(ws, [_("Department"), _("Received"), _("Closed"), _("Closed on time"), _("Overdue")])
    for cell in ws[ws.max_row]:
        cell.font = bold
    for row in view["departments"]:
        append(ws, [row["name"], row["received"], row["closed"], row["on_time"], row["overdue"]])

    if view["changes"]:
        append(ws, [])
        append(ws, [_("Changes since %(period)s") % {"period": view["previous_period"]}])
        ws.cell(row=ws.max_row, column=1).font = bold
        for label, value in view["changes"]:
            append(ws, [label, value])

    for column, width in zip("ABCDEF", (34, 30, 22, 14, 12, 10), strict=True):
        ws.column_dimensions[column].width = width
    return workbook_bytes(wb)
