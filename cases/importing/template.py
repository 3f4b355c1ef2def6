"""The downloadable XLSX template: the SPEC §7 headers, one example row, and a sheet explaining them."""

from __future__ import annotations

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from cases.safe_sheets import append, workbook_bytes

from .columns import SPEC_COLUMNS

EXAMPLE = {
    "ref": "411502-2025-0001",
    "region": "411502",
    "enterprise": "信阳示例纺织有限公司",
    "credit_code": "914115683BJ1XG612H",
    "category": "用工对接",
    "channel": "热线电话",
    "description": "季节性用工缺口约80人",
    "received_at": "2025-03-13 09:36",
    "department": "区人社局",
    "assigned_at": "2025-03-13 14:00",
    "due_date": "",
    "state": "已解决",
    "closed_at": "2025-03-18 15:30",
    "result": "已协调人力资源市场组织专场招聘，缺口已补齐",
    "evidence": "办理情况说明.pdf；招聘会签到表.pdf",
}


def notes() -> dict[str, str]:
    return {
        "ref": _("Unique within the region; importing the same number again changes nothing."),
        "region": _("GB/T 2260 code of the county or district, e.g. 411502."),
        "credit_code": _("18 characters; the check character is verified."),
        "category": _("Name or code, e.g. 用工对接 or labour."),
        "channel": _("Optional: 网络平台, 热线电话, 走访, 省企业服务网, 来信来函, 其他."),
        "received_at": _("Date or date and time, Beijing time."),
        "department": _("Required once the case was routed; created in the region if new."),
        "assigned_at": _("Required once the case was routed."),
        "due_date": _("Optional; computed from the category's deadline policy when empty."),
        "state": _("已受理, 已交办, 已解决 or 已解释答复 (or received, assigned, resolved, explained)."),
        "closed_at": _("Required when resolved or explained."),
        "result": _("Required when resolved or explained."),
        "evidence": _("Optional: file names or document numbers, separated by ；"),
    }


def template_bytes() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "台帐"
    explained = notes()
    append(sheet, [column.header for column in SPEC_COLUMNS])
    append(sheet, [EXAMPLE.get(column.key, "") for column in SPEC_COLUMNS])
    bold = Font(bold=True)
    required = PatternFill("solid", fgColor="FFF2CC")
    for index, column in enumerate(SPEC_COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = bold
        if column.required:
            cell.fill = required
        if column.key in explained:
            cell.comment = Comment(f"{column.key}: {explained[column.key]}", "Case Ledger")
        sheet.column_dimensions[cell.column_letter].width = max(12, len(column.header) * 2 + 4)
    state_column = next(i for i, c in enumerate(SPEC_COLUMNS, start=1) if c.key == "state")
    letter = sheet.cell(row=1, column=state_column).column_letter
    states = DataValidation(type="list", formula1='"已受理,已交办,已解决,已解释答复"', allow_blank=False)
    sheet.add_data_validation(states)
    states.add(f"{letter}2:{letter}100000")
    sheet.freeze_panes = "A2"

    guide = workbook.create_sheet(_("Instructions"))
    append(guide, [_("Column"), _("English alias"), _("Required"), _("Notes")])
    for cell in guide[1]:
        cell.font = bold
    for column in SPEC_COLUMNS:
        append(
            guide,
            [
                column.header,
                column.key,
                _("yes") if column.required else _("when applicable"),
                explained.get(column.key, ""),
            ],
        )
    for letter, width in zip("ABCD", (18, 16, 12, 70), strict=True):
        guide.column_dimensions[letter].width = width
    return workbook_bytes(workbook)
