"""Scoring pages: the scoreboard, a region's scoresheet (考核表), item drill-down and entry, exports."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from cases.errors import CaseError, NotFound
from cases.input_rules import local_today, year_problem
from cases.models import local_date
from config.db_router import replica_view

from . import drilldown, services, snapshots
from .exports import (
    item_cases_xlsx,
    kept_scoreboard_xlsx,
    scoreboard_xlsx,
    scoresheet_xlsx,
    want_scoreboard_ahead,
)
from .forms import EntryForm
from .history import HistoryRow, history_rows
from .ladders import points_str
from .models import Attachment, AuditEvent, Item
from .results import find_county, score_year
from .satisfaction import board_follow_ups
from .scope import parse_cutoff

ROWS_PER_PAGE = 100

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _year(value) -> int:
    """A year the app can score (cases.input_rules: 2000 to next year); any other is no page."""
    year = int(value)
    if year_problem(year, today=local_today()):
        raise Http404(_("No such year."))
    return year


def _cutoff(request, year):
    try:
        return parse_cutoff(request.GET.get("cutoff"), year)
    except CaseError:
        return None


def _readable_codes(request):
    codes = services.readable_region_codes(request.user)
    if codes == []:
        raise Http404(_("No scores to show."))
    return codes


def _region_for(request, code):
    try:
        region = find_county(code)
    except NotFound:
        raise Http404 from None
    if not services.can_read_region(request.user, region):
        raise Http404
    return region


@login_required
def index(request):
    return redirect("scoring:scoreboard", year=timezone.localtime().year)


def _today():
    return local_date(timezone.now())


def _board(request, year):
    """The year scored as the pages show it: as of today before the cutoff, else as of the cutoff."""
    return score_year(year, cutoff=_cutoff(request, year), today=_today())


def _stored(request, year, facts=None, parts=None):
    """The default question's board from the stored snapshot (``snapshots.stored_board``), or
    None when the request asks another cutoff (scored live, as before)."""
    cutoff = _cutoff(request, year)
    if cutoff is None or cutoff == snapshots.question(year, _today()).planned:
        return snapshots.stored_board(year, today=_today(), facts=facts, parts=parts)
    return None


def _language() -> str:
    return translation.get_language() or ""


def _chart(regions, width=960, bar_height=34, gap=12, label_width=130, top=28):
    """Bars of the totals, in rank order, on a 0–100 scale with gridlines, as SVG geometry
    (attributes only: the CSP forbids style attributes). Drawn at 960 units and scaled to the
    page's width by the viewBox, with text large enough to read on a phone."""
    plot = width - label_width - 70
    scale = plot / 100
    bars = []
    for i, r in enumerate(regions):
        y = top + i * (bar_height + gap)
        length = float(r.total) * scale
        bars.append(
            {
                "y": y,
                "text_y": f"{y + bar_height * 0.68:.1f}",
                "width": f"{length:.1f}",
                "label": r.region.name,
                "value": points_str(r.total),
                "value_x": f"{label_width + length + 8:.1f}",
                "rank": r.rank,
            }
        )
    height = top + max(1, len(bars)) * (bar_height + gap)
    grid = [{"x": f"{label_width + tick * scale:.1f}", "label": tick} for tick in (0, 20, 40, 60, 80, 100)]
    return {
        "bars": bars,
        "width": width,
        "height": height,
        "bar_height": bar_height,
        "label_width": label_width,
        "grid": grid,
        "grid_bottom": height - gap,
        "grid_top": top - 6,
        "label_y": top - 10,
    }


@login_required
@replica_view
def scoreboard(request, year):
    year = _year(year)
    codes = _readable_codes(request)
    if codes is not None and len(codes) == 1:
        return redirect("scoring:scoresheet", year=year, code=codes[0])
    cutoff = _cutoff(request, year)
    computed_at = None
    if cutoff is None or cutoff == snapshots.question(year, _today()).planned:
        # The default question: the stored snapshot with today's entries, never scored here.
        stored = snapshots.stored_board(year, today=_today())
        board, computed_at = stored.board, timezone.localtime(stored.snapshot.computed_at)
    else:
        board = _board(request, year)
    return render(
        request,
        "scoring/scoreboard.html",
        {
            "board": board,
            "regions": board.ranked,
            "chart": _chart(board.ranked),
            "sections": board.regions[0].sections if board.regions else [],
            "provisional": board.assessment is None or not board.assessment.is_frozen,
            "can_enter": services.can_enter(request.user),
            "today": timezone.localtime().date(),
            "follow_ups": board_follow_ups(board),
            "computed_at": computed_at,
        },
    )


@login_required
@replica_view
def scoresheet(request, year, code):
    year = _year(year)
    region = _region_for(request, code)
    stored = _stored(request, year, facts=[region.code])
    board = stored.board if stored else _board(request, year)
    region_score = board.region(region.code)
    return render(
        request,
        "scoring/scoresheet.html",
        {
            "computed_at": timezone.localtime(stored.snapshot.computed_at) if stored else None,
            "board": board,
            "r": region_score,
            "can_enter": services.can_enter(request.user),
            "provisional": board.assessment is None or not board.assessment.is_frozen,
            "follow_up": board_follow_ups(board)[region.pk],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@replica_view
def item_detail(request, year, code, number):
    year = _year(year)
    region = _region_for(request, code)
    if request.method == "POST":
        form = EntryForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                _save_entry(request, year, region, number, form.cleaned_data)
            except CaseError as error:
                for field, problems in (error.errors or {"__all__": [error.message]}).items():
                    form.add_error(field if field in form.fields else None, problems)
            else:
                messages.success(request, _("Saved."))
                return redirect("scoring:item", year=year, code=region.code, number=number)
        status = 400
    else:
        form = EntryForm()
        status = 200
    stored = _stored(request, year, facts=[region.code], parts=[f"item:{int(number)}"])
    board = stored.board if stored else _board(request, year)
    region_score = board.region(region.code)
    try:
        score = region_score.items[int(number)]
    except (KeyError, ValueError):
        raise Http404 from None
    follow_up = board_follow_ups(board)[region.pk] if score.item.kind == Item.Kind.SURVEY else None
    if request.method == "GET" and score.entry is not None:
        form = EntryForm(
            initial={"points": points_str(score.entry.points), "note": score.entry.note, **score.entry.inputs}
        )
    elif request.method == "GET" and follow_up and follow_up["total"]:
        form = EntryForm(initial={"rate": follow_up["fraction"]})  # item 21 from the follow-ups, to confirm
    assessment = board.assessment
    audit: list[HistoryRow] = []
    attachments: Iterable[Attachment] = []
    if assessment is not None:
        audit = history_rows(
            AuditEvent.objects.filter(assessment=assessment, region=region, item_number=score.number)
            .order_by("-occurred_at", "-id")
            .select_related("actor__profile__region", "actor__profile__department")
        )
        attachments = Attachment.objects.filter(
            assessment=assessment, region=region, item_number=score.number
        ).select_related("uploaded_by")
    page, sort = _case_page(board, score, request.GET.get("sort"), request.GET.get("show"), request.GET.get("page"))
    return render(
        request,
        "scoring/item.html",
        {
            "computed_at": timezone.localtime(stored.snapshot.computed_at) if stored else None,
            "board": board,
            "r": region_score,
            "score": score,
            "form": form,
            "audit": audit,
            "attachments": attachments,
            "can_enter": services.can_enter(request.user) and not (assessment and assessment.is_frozen),
            "Kind": Item.Kind,
            "rows": page,
            "sort": sort,
            "show": request.GET.get("show") or "",
            "columns": _columns(score),
            "missing_header": drilldown.missing_header(),
            "periods": drilldown.period_rows(score.detail, board.cutoff)
            if score.item.kind == Item.Kind.NOTICES
            else [],
            "frequency": drilldown.frequency_label(getattr(score.detail, "schedule", None)),
            "follow_up": follow_up,
        },
        status=status,
    )


def _case_rows(board, score, sort: str | None, show: str | None) -> tuple[list, str]:
    """The cases behind item 13 or 15, sorted (``?sort=``) and filtered by class (``?show=``)."""
    if score.item.kind == Item.Kind.TIMELINESS:
        rows = drilldown.timeliness_rows(score.detail, board.scope, as_of=board.cutoff)
    elif score.item.kind == Item.Kind.LEDGER:
        rows = drilldown.ledger_rows(score.detail, board.scope, as_of=board.cutoff)
    else:
        return [], ""
    if show:
        rows = [row for row in rows if row.klass == show]
    return drilldown.sort_rows(rows, sort)


def _case_page(board, score, sort: str | None, show: str | None, number):
    """A page of the cases behind item 13 or 15: sorted by number, class or what is missing, the
    page is cut from the stored lists and only its rows are read from the ledger; sorted by a fact
    (department, dates, days late) every listed case's facts are read, as the export does."""
    key = (sort or "number").lstrip("-")
    if score.item.kind in (Item.Kind.TIMELINESS, Item.Kind.LEDGER) and key in drilldown.LISTED_SORTS:
        found = drilldown.listed(score.detail)
        numbers, sort = drilldown.sort_listed(found, sort, show)
        paged = Paginator(numbers, ROWS_PER_PAGE).get_page(number)
        rows = drilldown.filled(list(paged.object_list), found, board.scope, as_of=board.cutoff)
        page: Page[drilldown.CaseRow] = Page(rows, paged.number, paged.paginator)  # type: ignore[arg-type]
        return page, sort
    rows, sort = _case_rows(board, score, sort, show)
    return Paginator(rows, ROWS_PER_PAGE).get_page(number), sort


def _columns(score) -> list[tuple[str, str]]:
    """(sort key, header) of the drill-down table."""
    columns = [
        ("number", _("Case number")),
        ("enterprise", _("Enterprise")),
        ("department", _("Department")),
        ("received", _("Received")),
        ("due", _("Due date")),
        ("closed", _("Closed")),
    ]
    if score.item.kind == Item.Kind.TIMELINESS:
        return [*columns, ("late", _("Working days late")), ("class", _("Counted as"))]
    return [*columns, ("missing", drilldown.missing_header())]


@login_required
@replica_view
def item_cases_export(request, year, code, number):
    year = _year(year)
    region = _region_for(request, code)
    stored = _stored(request, year, facts=[region.code], parts=[f"item:{int(number)}"])
    board = stored.board if stored else _board(request, year)
    try:
        score = board.region(region.code).items[int(number)]
    except (KeyError, ValueError):
        raise Http404 from None
    if score.item.kind not in (Item.Kind.TIMELINESS, Item.Kind.LEDGER):
        raise Http404
    sort, show = request.GET.get("sort"), request.GET.get("show")

    def build() -> bytes:
        rows, _sort = _case_rows(board, score, sort, show)
        return item_cases_xlsx(board, region, score, rows, _columns(score))

    if stored is None:
        body = build()
    else:
        # One file per state and question: the sort and class as applied (unknown ones fall back).
        applied = drilldown.sort_rows([], sort)[1]
        known = show if show in drilldown.CLASS_LABELS else ""
        name = f"item:{_language()}:{region.code}:{score.number}:{applied}:{known}"
        body = snapshots.kept_export(stored, name, build)
    response = HttpResponse(body, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="item{score.number}-{year}-{region.code}.xlsx"'
    return response


def _save_entry(request, year, region, number, data):
    inputs = None
    if data.get("reports"):
        inputs = {"reports": data["reports"]}
    elif data.get("rate") or data.get("participating") or data.get("above_scale"):
        inputs = {
            "rate": data.get("rate"),
            "participating": data.get("participating"),
            "above_scale": data.get("above_scale"),
        }
    files = data.get("files") or []
    if data.get("points") or inputs:
        services.set_item_points(
            year, region, number, by=request.user, points=data.get("points"), note=data.get("note") or "", inputs=inputs
        )
    elif not files:
        raise CaseError(_("Enter the points."), field="points")
    if files:
        services.add_attachments(year, region, number, by=request.user, files=files)


@login_required
def attachment_download(request, pk):
    try:
        attachment = services.get_attachment_for_user(request.user, pk)
    except NotFound:
        raise Http404 from None
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )


@login_required
@replica_view
def scoreboard_export(request, year):
    year = _year(year)
    codes = _readable_codes(request)
    stored = _stored(request, year)
    if stored is None:
        body = scoreboard_xlsx(_board(request, year), codes)
    else:
        # Item 15's lists of every county are read only when the file is built (for every county,
        # while it is being downloaded, already by the refresh: scoring.tasks.refresh_snapshots).
        if codes is None:
            want_scoreboard_ahead(year)
        body = kept_scoreboard_xlsx(stored, codes, _language())
    response = HttpResponse(body, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="scores-{year}.xlsx"'
    return response


@login_required
@replica_view
def scoresheet_export(request, year, code):
    year = _year(year)
    region = _region_for(request, code)
    stored = _stored(request, year)
    if stored is None:
        board = _board(request, year)
        body = scoresheet_xlsx(board, board.region(region.code))
    else:
        board = stored.board
        body = snapshots.kept_export(
            stored,
            f"scoresheet:{_language()}:{region.code}",
            lambda: scoresheet_xlsx(board, board.region(region.code)),
        )
    response = HttpResponse(body, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="scoresheet-{year}-{region.code}.xlsx"'
    return response
