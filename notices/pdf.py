"""A notice as a PDF (reportlab), laid out as an official document (GB/T 9704 in spirit):
the issuing office in red over a red rule with the document number (文号), the title, 主送, the
body, the tables, the office and date as signature, and 抄送 / 印发 at the foot.

The Chinese text is set in reportlab's built-in ``STSong-Light`` CID font: the PDF names the
font and the reader supplies it (every PDF reader carries the Adobe CJK fallbacks), so the
server needs no font file installed — the intranet machines have none to spare.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    HRFlowable,
    KeepTogether,
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)

from .document import Letterhead, letterhead
from .models import Notice
from .services import presentation

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

RED = colors.HexColor("#c00000")
BODY_SIZE = 14  # 四号, close to the 三号 (16 pt) of printed 公文 while keeping the tables on the page
LEADING = 24

_header = ParagraphStyle("header", fontName=FONT, fontSize=30, leading=38, textColor=RED, alignment=TA_CENTER)
_number = ParagraphStyle("number", fontName=FONT, fontSize=BODY_SIZE, leading=LEADING, alignment=TA_CENTER)
_title = ParagraphStyle(
    "title", fontName=FONT, fontSize=20, leading=30, alignment=TA_CENTER, spaceBefore=6 * mm, spaceAfter=5 * mm
)
_plain = ParagraphStyle("plain", fontName=FONT, fontSize=BODY_SIZE, leading=LEADING, alignment=TA_LEFT)
_body = ParagraphStyle("body", parent=_plain, firstLineIndent=2 * BODY_SIZE, wordWrap="CJK")
_heading = ParagraphStyle(
    "heading", parent=_plain, fontSize=BODY_SIZE, spaceBefore=4 * mm, spaceAfter=2 * mm, keepWithNext=1
)
_right = ParagraphStyle("right", parent=_plain, alignment=TA_RIGHT, rightIndent=8 * mm)
_cell = ParagraphStyle("cell", fontName=FONT, fontSize=10.5, leading=14, wordWrap="CJK")
_foot = ParagraphStyle("foot", fontName=FONT, fontSize=12, leading=20, wordWrap="CJK")
_mark = ParagraphStyle("mark", fontName=FONT, fontSize=12, leading=18, textColor=RED, alignment=TA_RIGHT)

WIDTH, HEIGHT = A4
LEFT, RIGHT, TOP, BOTTOM = 28 * mm, 26 * mm, 30 * mm, 28 * mm
FRAME = WIDTH - LEFT - RIGHT


def _p(text, style=_plain) -> Paragraph:
    return Paragraph(escape(str(text if text is not None else "")), style)


def _table(header: list[str], rows: list[list], widths: list[float]) -> LongTable:
    data = [[_p(h, _cell) for h in header]] + [[_p(v, _cell) for v in row] for row in rows]
    table = LongTable(data, colWidths=[w * FRAME for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _masthead(head: Letterhead) -> list:
    story = [_p(head.office, _header), Spacer(1, 5 * mm)]
    number = head.number or (_("Draft — the document number is given at issue") if head.draft else "")
    story.append(_p(number, _number))
    story.append(HRFlowable(width="100%", thickness=2, color=RED, spaceBefore=2 * mm, spaceAfter=2 * mm))
    if head.draft:
        story.append(_p(_("Draft, not issued"), _mark))
    elif head.late:
        story.append(_p(_("Issued late (after the next period ended)"), _mark))
    return story


def _tables(view: dict) -> list:
    story = [_p(_("1. Figures"), _heading)]
    story.append(_table([_("Item"), _("Figure")], [[label, value] for label, value in view["rows"]], [0.7, 0.3]))
    story.append(_p(_("2. Overdue cases"), _heading))
    if view["overdue"]:
        story.append(
            _table(
                [_("Number"), _("Enterprise"), _("Department"), _("Due date"), _("Days overdue"), _("Supervised")],
                [
                    [
                        c["number"],
                        c["enterprise"],
                        c["department"],
                        c["due_date"],
                        c["days_overdue"],
                        _("Yes") if c["supervised"] else "",
                    ]
                    for c in view["overdue"]
                ],
                [0.2, 0.25, 0.2, 0.14, 0.11, 0.1],
            )
        )
    else:
        story.append(_p(_("No case was overdue at the end of the period."), _body))
    story.append(_p(_("3. By department"), _heading))
    if view["departments"]:
        story.append(
            _table(
                [_("Department"), _("Received"), _("Closed"), _("Closed on time"), _("Overdue")],
                [[r["name"], r["received"], r["closed"], r["on_time"], r["overdue"]] for r in view["departments"]],
                [0.4, 0.15, 0.15, 0.15, 0.15],
            )
        )
    else:
        story.append(_p(_("No department had cases in this period."), _body))
    if view["changes"]:
        story.append(_p(_("4. Changes since %(period)s") % {"period": view["previous_period"]}, _heading))
        story.append(
            _table(
                [_("Item"), pgettext("difference from the last period", "Change")],
                [[label, value] for label, value in view["changes"]],
                [0.7, 0.3],
            )
        )
    return story


def _colophon(head: Letterhead) -> list:
    lines = [HRFlowable(width="100%", thickness=0.8, color=colors.black, spaceBefore=10 * mm, spaceAfter=1 * mm)]
    lines.append(_p(_("Copy to: %(names)s.") % {"names": "，".join(head.copy) or "—"}, _foot))
    lines.append(HRFlowable(width="100%", thickness=0.5, color=colors.black, spaceBefore=1 * mm, spaceAfter=1 * mm))
    if head.date_text:
        lines.append(_p(_("%(office)s, issued %(date)s") % {"office": head.office, "date": head.date_text}, _foot))
        lines.append(HRFlowable(width="100%", thickness=0.8, color=colors.black, spaceBefore=1 * mm))
    return [KeepTogether(lines)]


def _page_number(canvas, doc) -> None:
    canvas.saveState()
    canvas.setFont(FONT, 10)
    canvas.drawCentredString(WIDTH / 2, 14 * mm, f"— {doc.page} —")
    canvas.restoreState()


def notice_pdf(notice: Notice) -> bytes:
    head = letterhead(notice)
    view = presentation(notice)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=LEFT,
        rightMargin=RIGHT,
        topMargin=TOP,
        bottomMargin=BOTTOM,
        title=head.title,
        author=head.office,
        subject=head.number or notice.period,
        creator=_("Enterprise problem ledger"),
    )
    story = _masthead(head)
    story.append(_p(head.title, _title))
    if head.main:
        story.append(_p(_("%(names)s:") % {"names": "，".join(head.main)}, _plain))
    for paragraph in head.body:
        story.append(_p(paragraph, _body))
    if notice.offline:
        story.append(_p(_("Registered offline; the issued document is the attached scan."), _body))
    if view["rows"][0][1] is not None:
        story.extend(_tables(view))
    story.append(Spacer(1, 10 * mm))
    story.append(_p(head.office, _right))
    story.append(_p(head.date_text or _("(date of issue)"), _right))
    story.extend(_colophon(head))
    doc.build(story, onFirstPage=_page_number, onLaterPages=_page_number)
    return buffer.getvalue()
