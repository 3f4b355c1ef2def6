"""A notice as an XLSX workbook (openpyxl), laid out the way offices print theirs."""
from __future__ import annotations

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from .models import Notice
from .services import presentation


def notice_xlsx(notice: Notice) -> bytes:
    view = presentation(notice)
    wb = Workbook()
    ws = wb.active
    ws.title = _("Notice")[:31]
    bold = Font(bold=True)
    ws.append([notice.title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([_("Region"), notice.region.name, _("Period"), notice.period])
    ws.append([_("Status"), notice.get_status_display(), _("Issued on"),
               notice.issued_on.isoformat() if notice.issued_on else ""])
    ws.append([_("Recipient groups reached"), "、".join(notice.group_labels())])
    if notice.ledger_root:
        ws.append([_("Ledger checksum of this period (本期台帐校验码)"), notice.ledger_root])
    if notice.covering_text:
        ws.append([])
        ws.append([notice.covering_text])
        ws.cell(row=ws.max_row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
    ws.append([])
    ws.append([_("Figures")])
    ws.cell(row=ws.max_row, column=1).font = bold
    for label, value in view["rows"]:
        ws.append([label, value])

    ws.append([])
    ws.append([_("Overdue cases")])
    ws.cell(row=ws.max_row, column=1).font = bold
    ws.append([_("Number"), _("Enterprise"), _("Department"), _("Due date"), _("Days overdue"), _("Supervised")])
    for cell in ws[ws.max_row]:
        cell.font = bold
    for case in view["overdue"]:
        ws.append([case["number"], case["enterprise"], case["department"], case["due_date"], case["days_overdue"],
                   _("Yes") if case["supervised"] else ""])

    ws.append([])
    ws.append([_("By department")])
    ws.cell(row=ws.max_row, column=1).font = bold
    ws.append([_("Department"), _("Received"), _("Closed"), _("Closed on time"), _("Overdue")])
    for cell in ws[ws.max_row]:
        cell.font = bold
    for row in view["departments"]:
        ws.append([row["name"], row["received"], row["closed"], row["on_time"], row["overdue"]])

    if view["changes"]:
        ws.append([])
        ws.append([_("Changes since %(period)s") % {"period": view["previous_period"]}])
        ws.cell(row=ws.max_row, column=1).font = bold
        for label, value in view["changes"]:
            ws.append([label, value])

    for column, width in zip("ABCDEF", (34, 30, 22, 14, 12, 10), strict=True):
        ws.column_dimensions[column].width = width
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
