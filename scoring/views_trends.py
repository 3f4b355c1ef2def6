"""Trends in pictures (issue 13): server-side SVG charts of a county or the city for a year, each
with its figures as a table and as XLSX (scoring/trends.py, scoring/svg.py)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from openpyxl import Workbook

from cases import safe_sheets
from cases.errors import NotFound
from cases.models import Region, local_date

from . import services, svg, trend_snapshots, trends
from .models import Assessment
from .results import find_county, find_rule_set
from .views import XLSX, _year

CHARTS = ("received", "on_time", "category", "channel", "league", "satisfaction")


def _where(request, year: int) -> tuple[trends.Where, Region | None]:
    """The county asked for (``?region=``, within the user's scope), else every county the user reads."""
    readable = services.readable_region_codes(request.user)
    if readable == []:
        raise Http404
    value = request.GET.get("region") or ""
    if not value and readable is not None and len(readable) == 1:
        value = readable[0]
    today = local_date(timezone.now())
    if value:
        try:
            region = find_county(value)
        except NotFound:
            raise Http404 from None
        if readable is not None and region.code not in readable:
            raise Http404
        return trends.Where(year, [region], today), region
    counties = Region.objects.filter(level=Region.Level.COUNTY).order_by("code")
    if readable is not None:
        counties = counties.filter(code__in=readable)
    return trends.Where(year, list(counties), today), None


def _months() -> list[str]:
    return [_("Month %(month)d") % {"month": m} for m in trends.MONTHS]


def _item15_params(year: int) -> dict:
    assessment = Assessment.objects.select_related("rule_set").filter(year=year).first()
    return find_rule_set(None, assessment).params.get("item15", {})


@dataclass
class Figure:
    key: str
    title: str
    chart: svg.Chart | None
    header: list[str]
    rows: list[list]
    text_columns: tuple[int, ...] = (0,)  # the others are figures, right-aligned


def figure(
    key: str, where: trends.Where, region: Region | None, stored: trend_snapshots.Series | None = None
) -> Figure | None:
    """One chart's picture and figures; None for the league when no single county is chosen.
    From the stored series of ``where``'s counties when given, else computed here."""
    months = _months()
    if key == "received":
        counts = stored.received_and_closed if stored is not None else trends.received_and_closed(where)
        return Figure(
            key,
            _("Cases received and closed by month"),
            svg.grouped_bars(
                months,
                [("chart-bar", _("Received"), counts["received"]), ("chart-bar-2", _("Closed"), counts["closed"])],
            ),
            [_("Month"), _("Received"), _("Closed")],
            [[m, r, c] for m, r, c in zip(months, counts["received"], counts["closed"], strict=True)],
        )
    if key == "on_time":
        closings = stored.on_time if stored is not None else trends.on_time_by_month(where)
        params = _item15_params(where.year)
        lines = [(float(t), f"{float(t) * 100:g}%") for t, _p in params.get("ladder", [])]
        if params.get("gap_from"):
            lines.append((float(params["gap_from"]), f"{float(params['gap_from']) * 100:g}%"))
        rates = [on_time / closed if closed else None for on_time, closed in closings]
        return Figure(
            key,
            _("On-time rate of the cases closed each month"),
            svg.rate_line(months, rates, lines),
            [_("Month"), _("Closed"), _("On time"), _("Rate")],
            [
                [m, closed, on_time, trends.rate_str(on_time, closed) or ""]
                for m, (on_time, closed) in zip(months, closings, strict=True)
            ],
        )
    if key in ("category", "channel"):
        if stored is not None:
            received = stored.by_category() if key == "category" else stored.by_channel()
        else:
            received = trends.by_category(where) if key == "category" else trends.by_channel(where)
        title = _("Cases received by category") if key == "category" else _("Cases received by channel")
        return Figure(
            key,
            title,
            svg.horizontal_bars(received, css="chart-bar" if key == "category" else "chart-bar-2"),
            [_("Category") if key == "category" else _("Channel"), _("Received")],
            [[name, n] for name, n in received],
        )
    if key == "league":
        if region is None:
            return None
        params = _item15_params(where.year)
        if stored is not None:
            table = stored.league(region, params)
        else:
            table = trends.league(region, where.year, today=where.today, params=params)
        return Figure(
            key,
            _("Department league (item 15 as of %(day)s)") % {"day": table.moment.isoformat()},
            svg.horizontal_bars(
                [(row.department, round(float(row.rate or 0) * 100)) for row in table.rows if row.counted]
            ),
            [
                _("Rank"),
                _("Department"),
                _("Counted"),
                _("On time"),
                _("Rate"),
                _("Points"),
                _("Pending"),
                _("Closed in the year"),
                _("Average days to close"),
                _("Returns"),
                _("Extension requests"),
            ],
            [
                [
                    row.rank or "",
                    row.department,
                    row.counted,
                    row.on_time,
                    row.rate_text or "",
                    str(row.points) if row.points is not None else "",
                    row.pending,
                    row.closed,
                    str(row.average_days) if row.average_days is not None else "",
                    row.returns,
                    row.extensions,
                ]
                for row in table.rows
            ],
            text_columns=(1,),
        )
    if key == "satisfaction":
        data = stored.satisfaction if stored is not None else trends.satisfaction_by_month(where)
        series = [(f"chart-sat-{answer}", str(label), data[answer]) for answer, label in trends.SATISFACTION]
        return Figure(
            key,
            _("Satisfaction at follow-up by month"),
            svg.stacked_bars(months, series),
            [_("Month"), *[str(label) for _a, label in trends.SATISFACTION]],
            [[m, *[data[a][i] for a, _l in trends.SATISFACTION]] for i, m in enumerate(months)],
        )
    raise Http404


@require_GET
@login_required
def trends_page(request, year):
    year = _year(year)
    where, region = _where(request, year)
    stored = trend_snapshots.stored_series(year, where.regions, today=where.today)
    figures = [f for f in (figure(key, where, region, stored.series) for key in CHARTS) if f is not None]
    readable = services.readable_region_codes(request.user)
    choices = Region.objects.filter(level=Region.Level.COUNTY).order_by("code")
    if readable is not None:
        choices = choices.filter(code__in=readable)
    return render(
        request,
        "scoring/trends.html",
        {
            "year": year,
            "region": region,
            "figures": figures,
            "choices": choices,
            "city_view": readable is None,
            "satisfaction": stored.series.follow_ups,
            "computed_at": timezone.localtime(stored.snapshot.computed_at),
            "stale": stored.stale,
            "years": range(year - 2, local_date(timezone.now()).year + 1),
        },
    )


@require_GET
@login_required
def trends_xlsx(request, year, chart):
    year = _year(year)
    if chart not in CHARTS:
        raise Http404
    where, region = _where(request, year)
    found = figure(chart, where, region, trend_snapshots.stored_series(year, where.regions, today=where.today).series)
    if found is None:
        raise Http404
    wb = Workbook()
    ws = wb.active
    ws.title = chart
    place = region.name if region else _("All counties")
    safe_sheets.append(ws, [f"{found.title} · {place} · {year}"])
    safe_sheets.append(ws, found.header)
    for row in found.rows:
        safe_sheets.append(ws, row)
    response = HttpResponse(safe_sheets.workbook_bytes(wb), content_type=XLSX)
    suffix = region.code if region else "all"
    response["Content-Disposition"] = f'attachment; filename="trends-{chart}-{year}-{suffix}.xlsx"'
    return response
