"""XLSX exports: the region's scoresheet in the seed's 考核表 layout, and the scoreboard.

Written with openpyxl's write-only mode (rows streamed to the file, not kept as cell objects),
so exporting a scoreboard with long drill-down lists stays in bounded memory. Every cell goes
through ``cases.safe_sheets`` (names typed by people: control characters removed, formula-like
text written as text).
"""

from __future__ import annotations

from django.core.cache import cache
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side

from cases import safe_sheets

from .item15 import Timeliness
from .ladders import points_str
from .models import Criterion
from .results import RegionScore, Scoreboard

THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="center")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _number(value):
    text = points_str(value)
    if text is None:
        return None
    return float(text) if "." in text else int(text)


def scoresheet_xlsx(board: Scoreboard, region_score: RegionScore) -> bytes:
    """考核表 as in the seed: 考核类别 | 考核项目及分值 | 内容 | 分值 | 评分标准 | 得分 | 小计.

    A normal (not write-only) workbook: the sheet is some thirty rows and needs merged cells."""
    wb = Workbook()
    ws = wb.active
    ws.title = region_score.region.code
    for letter, width in zip("ABCDEFG", (22, 26, 40, 6, 60, 8, 8), strict=True):
        ws.column_dimensions[letter].width = width
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "3:3"

    def put(row, column, value, *, bold=False, center=False):
        cell = safe_sheets.put(ws, row, column, value)
        cell.border = BOX
        cell.alignment = CENTER if center else WRAP
        if bold:
            cell.font = Font(bold=True)
        return cell

    title = _("%(year)d Xinyang enterprise service assessment form (county/district)") % {"year": board.year}
    put(1, 1, title, bold=True, center=True)
    put(
        2,
        1,
        _("Assessed county/district: %(name)s    Total: %(total)s    Rank: %(rank)s    Cutoff: %(cutoff)s")
        % {
            "name": region_score.region.name,
            "total": points_str(region_score.total),
            "rank": region_score.rank,
            "cutoff": board.cutoff.isoformat(),
        },
    )
    ws.merge_cells("A1:G1")
    ws.merge_cells("A2:G2")
    heads = [
        _("Category"),
        _("Item and points"),
        _("Content"),
        _("Points"),
        _("Scoring standard"),
        _("Score"),
        _("Subtotal"),
    ]
    for column, head in enumerate(heads, start=1):
        put(3, column, head, bold=True, center=True)
    row = 4
    for section in region_score.sections:
        section_start = row
        for score in section.items:
            item = score.item
            criteria: list[Criterion | None] = list(item.criteria.all()) or [None]
            item_start = row
            for criterion in criteria:
                put(row, 3, criterion.content if criterion else "")
                put(row, 4, _number(criterion.max_points if criterion else item.max_points), center=True)
                put(row, 5, criterion.standard if criterion else "")
                for column in (1, 2, 6, 7):
                    put(row, column, None)
                row += 1
            put(item_start, 2, f"{item.number}、{item.title}({points_str(item.max_points)}分)")
            put(item_start, 6, _number(score.points), center=True)
            if row - item_start > 1:
                ws.merge_cells(start_row=item_start, end_row=row - 1, start_column=2, end_column=2)
                ws.merge_cells(start_row=item_start, end_row=row - 1, start_column=6, end_column=6)
        put(section_start, 1, f"{section.section.title}({points_str(section.section.max_points)}分)")
        put(section_start, 7, _number(section.subtotal), center=True)
        if row - section_start > 1:
            ws.merge_cells(start_row=section_start, end_row=row - 1, start_column=1, end_column=1)
            ws.merge_cells(start_row=section_start, end_row=row - 1, start_column=7, end_column=7)
    put(row, 1, _("Total"), bold=True)
    put(row, 4, 100, center=True)
    put(row, 6, _number(region_score.total), bold=True, center=True)
    put(row + 1, 1, _("Assessors' signatures:                Date:"))
    ws.merge_cells(start_row=row + 1, end_row=row + 1, start_column=1, end_column=7)
    return safe_sheets.workbook_bytes(wb)


def scoreboard_xlsx(board: Scoreboard, region_codes: list[str] | None = None) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=str(board.year))
    regions = [r for r in board.regions if region_codes is None or r.region.code in region_codes]
    sections = regions[0].sections if regions else []
    safe_sheets.append(
        ws,
        [
            _("%(year)d assessment results (cutoff %(cutoff)s, rule set %(rule_set)s)")
            % {"year": board.year, "cutoff": board.cutoff.isoformat(), "rule_set": board.rule_set.code}
        ],
    )
    head = [_("Rank"), _("Code"), _("County/district")]
    head += [f"{s.section.title}({points_str(s.section.max_points)})" for s in sections]
    head += [str(n) for n in range(1, 22)] + [_("Item 15 rate"), _("Total")]
    safe_sheets.append(ws, head)
    for r in regions:
        line = [r.rank, r.region.code, r.region.name]
        line += [_number(s.subtotal) for s in r.sections]
        line += [_number(r.items[n].points) if n in r.items else None for n in range(1, 22)]
        t = _item15(r)
        line += [t.rate_text if t is not None else None, _number(r.total)]
        safe_sheets.append(ws, line)
    lists = wb.create_sheet(title=_("Late and pending"))
    safe_sheets.append(lists, [_("Code"), _("County/district"), _("Kind"), _("Case number")])
    for r in regions:
        t = _item15(r)
        if t is None:
            continue
        for number in t.closed_late:
            safe_sheets.append(lists, [r.region.code, r.region.name, _("closed late"), number])
        for number in t.open_late:
            safe_sheets.append(lists, [r.region.code, r.region.name, _("open past due"), number])
        for number in t.pending:
            safe_sheets.append(lists, [r.region.code, r.region.name, _("pending"), number])
    return safe_sheets.workbook_bytes(wb)


def _item15(region_score: RegionScore) -> Timeliness | None:
    """Item 15's figures for the region, when the rule set scores item 15 from the ledger."""
    score = region_score.items.get(15)
    return score.detail if score is not None and isinstance(score.detail, Timeliness) else None


def item_cases_xlsx(board: Scoreboard, region, score, rows, columns) -> bytes:
    """The cases behind item 13 or 15 as a sheet: the page's table with its heading, sorted the
    same way. Write-only: a county's cases stream to the file."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=f"{score.number}")
    widths = (20, 30, 22, 12, 12, 12, 14, 40)
    for index, width in enumerate(widths[: len(columns)]):
        ws.column_dimensions[chr(ord("A") + index)].width = width
    moment = (
        _("as of today, %(day)s (provisional; cutoff %(cutoff)s)")
        if board.as_of_today
        else _("as of the cutoff, %(day)s")
    ) % {
        "day": board.cutoff.isoformat(),
        "cutoff": (board.planned_cutoff or board.cutoff).isoformat(),
    }
    safe_sheets.append(ws, [f"{region.name} · {score.item.number}、{score.item.title}"])
    safe_sheets.append(ws, [f"{board.year} · {moment}"])
    safe_sheets.append(ws, [str(header) for _key, header in columns])
    for row in rows:
        values = [row.number, row.enterprise, row.department, row.received_on, row.due_date, row.closed_on]
        if score.item.kind == "timeliness":
            values += [row.days_late, row.klass_label]
        else:
            values.append("、".join(row.missing_labels))
        safe_sheets.append(ws, values)
    return safe_sheets.workbook_bytes(wb)


# The city-wide workbook is built ahead by the snapshot refresh only while someone has downloaded
# it lately: at a million cases it costs ~17 s of CPU, and a busy day refreshes every minute.
WANTED_AHEAD_SECONDS = 3600


def _wanted_key(year: int) -> str:
    return f"scoring:scoreboard-xlsx-wanted:{year}"


def want_scoreboard_ahead(year: int) -> None:
    cache.set(_wanted_key(year), True, WANTED_AHEAD_SECONDS)


def scoreboard_wanted_ahead(year: int) -> bool:
    return bool(cache.get(_wanted_key(year)))


def kept_scoreboard_xlsx(stored, codes: list[str] | None, language: str) -> bytes:
    """The scoreboard's workbook for a stored board (``scoring.snapshots.StoredBoard``), built once
    per snapshot and kept (``snapshots.kept_export``): the page's download and the refresh that
    builds it ahead of the first download name it alike. ``codes``: the counties the reader sees
    (None: every one)."""
    from . import snapshots

    name = "scoreboard:{}:{}".format(language, snapshots.EVERY if codes is None else ",".join(sorted(codes)))
    return snapshots.kept_export(
        stored, name, lambda: scoreboard_xlsx(snapshots.with_facts(stored, snapshots.EVERY), codes)
    )
