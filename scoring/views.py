"""Scoring pages: the scoreboard, a region's scoresheet (考核表), item drill-down and entry, exports."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from cases.errors import CaseError, NotFound

from . import services
from .exports import scoreboard_xlsx, scoresheet_xlsx
from .forms import EntryForm
from .ladders import points_str
from .models import Attachment, AuditEvent, Item
from .results import find_region, score_year
from .scope import parse_cutoff

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _year(value) -> int:
    year = int(value)
    if not 2000 <= year <= 2100:
        raise Http404
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
        region = find_region(code)
    except NotFound:
        raise Http404 from None
    if not services.can_read_region(request.user, region):
        raise Http404
    return region


@login_required
def index(request):
    return redirect("scoring:scoreboard", year=timezone.localtime().year)


def _chart(regions, width=560, bar_height=22, gap=8, label_width=80):
    """Bars of the totals as SVG geometry (attributes only: the CSP forbids style attributes)."""
    scale = (width - label_width - 50) / 100
    bars = []
    for i, r in enumerate(sorted(regions, key=lambda r: (r.rank, r.region.code))):
        y = i * (bar_height + gap)
        length = float(r.total) * scale
        bars.append({"y": y, "text_y": y + bar_height * 0.7, "width": f"{length:.1f}", "label": r.region.name,
                     "value": points_str(r.total), "value_x": f"{label_width + length + 6:.1f}", "rank": r.rank})
    return {"bars": bars, "width": width, "height": max(1, len(bars)) * (bar_height + gap), "bar_height": bar_height,
            "label_width": label_width}


@login_required
def scoreboard(request, year):
    year = _year(year)
    codes = _readable_codes(request)
    if codes is not None and len(codes) == 1:
        return redirect("scoring:scoresheet", year=year, code=codes[0])
    board = score_year(year, cutoff=_cutoff(request, year))
    return render(request, "scoring/scoreboard.html", {
        "board": board, "regions": board.regions, "chart": _chart(board.regions),
        "sections": board.regions[0].sections if board.regions else [],
        "provisional": board.assessment is None or not board.assessment.is_frozen,
        "can_enter": services.can_enter(request.user),
        "today": timezone.localtime().date(),
    })


@login_required
def scoresheet(request, year, code):
    year = _year(year)
    region = _region_for(request, code)
    board = score_year(year, cutoff=_cutoff(request, year))
    region_score = board.region(region.code)
    return render(request, "scoring/scoresheet.html", {
        "board": board, "r": region_score, "can_enter": services.can_enter(request.user),
        "provisional": board.assessment is None or not board.assessment.is_frozen,
    })


@login_required
@require_http_methods(["GET", "POST"])
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
    board = score_year(year, cutoff=_cutoff(request, year))
    region_score = board.region(region.code)
    try:
        score = region_score.items[int(number)]
    except (KeyError, ValueError):
        raise Http404 from None
    if request.method == "GET" and score.entry is not None:
        form = EntryForm(initial={"points": points_str(score.entry.points), "note": score.entry.note, **score.entry.inputs})
    assessment = board.assessment
    audit = attachments = []
    if assessment is not None:
        audit = AuditEvent.objects.filter(
            assessment=assessment, region=region, item_number=score.number,
        ).order_by("-occurred_at", "-id").select_related("actor__profile__region", "actor__profile__department")
        attachments = Attachment.objects.filter(
            assessment=assessment, region=region, item_number=score.number).select_related("uploaded_by")
    return render(request, "scoring/item.html", {
        "board": board, "r": region_score, "score": score, "form": form, "audit": audit, "attachments": attachments,
        "can_enter": services.can_enter(request.user) and not (assessment and assessment.is_frozen),
        "Kind": Item.Kind,
    }, status=status)


def _save_entry(request, year, region, number, data):
    inputs = None
    if data.get("reports"):
        inputs = {"reports": data["reports"]}
    elif data.get("rate") or data.get("participating") or data.get("above_scale"):
        inputs = {"rate": data.get("rate"), "participating": data.get("participating"), "above_scale": data.get("above_scale")}
    files = data.get("files") or []
    if data.get("points") or inputs:
        services.set_item_points(year, region, number, by=request.user, points=data.get("points"),
                                 note=data.get("note") or "", inputs=inputs)
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
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name,
                        content_type=attachment.content_type)


@login_required
def scoreboard_export(request, year):
    year = _year(year)
    codes = _readable_codes(request)
    board = score_year(year, cutoff=_cutoff(request, year))
    response = HttpResponse(scoreboard_xlsx(board, codes), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="scores-{year}.xlsx"'
    return response


@login_required
def scoresheet_export(request, year, code):
    year = _year(year)
    region = _region_for(request, code)
    board = score_year(year, cutoff=_cutoff(request, year))
    response = HttpResponse(scoresheet_xlsx(board, board.region(region.code)), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="scoresheet-{year}-{region.code}.xlsx"'
    return response
