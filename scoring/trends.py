"""Trends in figures (issue 13): a county's or the city's year month by month, by category and by
channel, its departments' league and the enterprises' satisfaction — each chart from one
aggregate query grouped by county (the league from one query per column, the kinds' names from
one more), so the number of queries stays flat however many cases there are. Months are
Asia/Shanghai months; "the city" is every county the user may read. The pages read these series
as stored off the request (``scoring.trend_snapshots``); a scan of a million cases' year takes
seconds.

What each chart counts:

* received / closed by month — cases received in the month; cases whose present closing (resolved
  or explained, not reopened since) falls in the month;
* on-time rate by month — of the cases closed in the month, those closed on or before their due
  date (item 15's rule on each closing), against the ladder's lines;
* by category, by channel — cases received in the year;
* the department league (one county) — item 15's figures for the year to today from the same scan
  as the scores, average calendar days from receipt to closing of the cases it closed in the year,
  returns (退单) it made and extension requests (申请延期) on the cases it has, from the ledger;
* satisfaction by month — follow-ups (回访) recorded in the month, by the enterprise's answer.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, IntegerField, Q, Value
from django.db.models.functions import TruncDate, TruncMonth
from django.utils.translation import gettext_lazy as _

from cases.models import CLOSED_STATES, Case, Category, Channel, Department, FollowUp, Region
from ledger.models import LedgerEntry

from .item15 import timeliness_for_regions
from .ladders import ladder, rate_str
from .models import Assessment
from .scope import local_zone, make_scope, moment

MONTHS = range(1, 13)
SATISFACTION = [
    ("satisfied", _("Satisfied")),
    ("basically_satisfied", _("Basically satisfied")),
    ("dissatisfied", _("Dissatisfied")),
]


@dataclass
class Where:
    """The regions and the year a trends page looks at."""

    year: int
    regions: list[Region]
    today: dt.date

    @property
    def region_ids(self) -> list[int]:
        return [r.pk for r in self.regions]

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, 1, 1, tzinfo=local_zone())

    @property
    def end(self) -> dt.datetime:
        return dt.datetime(self.year + 1, 1, 1, tzinfo=local_zone())

    def cases(self):
        return Case.objects.filter(region_id__in=self.region_ids)


def _month_of(value) -> int:
    """The month number of a TruncMonth value (a date, or an aware datetime in the local zone)."""
    return value.month


# -- month by month ----------------------------------------------------------------------------
#
# Each chart's query is grouped by region as well: the figures of a set of counties are the sums
# of the counties' (every count is of cases or follow-ups, each in one county), so the stored
# series (``scoring.trend_snapshots``, one per county) and the live ones come from the same code.


def _add(into: list[int], more: list[int]) -> list[int]:
    return [a + b for a, b in zip(into, more, strict=True)]


def received_and_closed_by_region(where: Where) -> dict[int, dict[str, list[int]]]:
    """{region id: {"received": [12 counts], "closed": [12 counts]}} — one query (UNION ALL)."""
    zone = local_zone()
    received = (
        where.cases()
        .filter(received_at__gte=where.start, received_at__lt=where.end)
        .annotate(month=TruncMonth("received_at", tzinfo=zone), series=Value(0, IntegerField()))
        .values("region_id", "month", "series")
        .annotate(n=Count("id"))
        .values_list("region_id", "series", "month", "n")
        .order_by()
    )
    closed = (
        where.cases()
        .filter(state__in=CLOSED_STATES, closed_at__gte=where.start, closed_at__lt=where.end)
        .annotate(month=TruncMonth("closed_at", tzinfo=zone), series=Value(1, IntegerField()))
        .values("region_id", "month", "series")
        .annotate(n=Count("id"))
        .values_list("region_id", "series", "month", "n")
        .order_by()
    )
    result = {pk: {"received": [0] * 12, "closed": [0] * 12} for pk in where.region_ids}
    for region_id, series, month, n in received.union(closed, all=True):
        result[region_id]["received" if series == 0 else "closed"][_month_of(month) - 1] += n
    return result


def received_and_closed(where: Where) -> dict[str, list[int]]:
    """{"received": [12 counts], "closed": [12 counts]} — one query (two aggregates, UNION ALL)."""
    result = {"received": [0] * 12, "closed": [0] * 12}
    for counts in received_and_closed_by_region(where).values():
        result = {key: _add(result[key], counts[key]) for key in result}
    return result


def on_time_by_month_by_region(where: Where) -> dict[int, list[tuple[int, int]]]:
    """{region id: [(on time, closed)] for each month} — one query."""
    zone = local_zone()
    rows = (
        where.cases()
        .filter(state__in=CLOSED_STATES, closed_at__gte=where.start, closed_at__lt=where.end)
        .annotate(month=TruncMonth("closed_at", tzinfo=zone), closed_on=TruncDate("closed_at", tzinfo=zone))
        .values("region_id", "month")
        .annotate(
            closed=Count("id"), on_time=Count("id", filter=Q(due_date__isnull=True) | Q(closed_on__lte=F("due_date")))
        )
        .values_list("region_id", "month", "on_time", "closed")
        .order_by()
    )
    result = {pk: [(0, 0)] * 12 for pk in where.region_ids}
    for region_id, month, on_time, closed in rows:
        result[region_id][_month_of(month) - 1] = (on_time, closed)
    return result


def on_time_by_month(where: Where) -> list[tuple[int, int]]:
    """[(on time, closed)] for each month — one query."""
    return sum_on_time(on_time_by_month_by_region(where).values())


def sum_on_time(parts) -> list[tuple[int, int]]:
    result = [(0, 0)] * 12
    for part in parts:
        result = [(a + c, b + d) for (a, b), (c, d) in zip(result, part, strict=True)]
    return result


def satisfaction_by_month_by_region(where: Where) -> dict[int, dict[str, list[int]]]:
    """{region id: {answer: [12 counts]}} of the follow-ups recorded in each month — one query."""
    rows = (
        FollowUp.objects.filter(
            case__region_id__in=where.region_ids, recorded_at__gte=where.start, recorded_at__lt=where.end
        )
        .annotate(month=TruncMonth("recorded_at", tzinfo=local_zone()))
        .values("case__region_id", "month", "satisfaction")
        .annotate(n=Count("id"))
        .values_list("case__region_id", "month", "satisfaction", "n")
        .order_by()
    )
    result = {pk: {key: [0] * 12 for key, _label in SATISFACTION} for pk in where.region_ids}
    for region_id, month, answer, n in rows:
        if answer in result[region_id]:
            result[region_id][answer][_month_of(month) - 1] += n
    return result


def sum_satisfaction(parts) -> dict[str, list[int]]:
    result = {key: [0] * 12 for key, _label in SATISFACTION}
    for part in parts:
        result = {key: _add(result[key], part[key]) for key in result}
    return result


def satisfaction_by_month(where: Where) -> dict[str, list[int]]:
    """{answer: [12 counts]} of the follow-ups recorded in each month — one query."""
    return sum_satisfaction(satisfaction_by_month_by_region(where).values())


# -- the year by kind --------------------------------------------------------------------------


def received_by_region(field: str, where: Where) -> dict[int, dict[int, int]]:
    """{region id: {category or channel id: cases received in the year}} (``field``: "category"
    or "channel"); kinds without a case are left out — one query."""
    rows = (
        where.cases()
        .filter(received_at__gte=where.start, received_at__lt=where.end)
        .values("region_id", f"{field}_id")
        .annotate(n=Count("id"))
        .values_list("region_id", f"{field}_id", "n")
        .order_by()
    )
    result: dict[int, dict[int, int]] = {pk: {} for pk in where.region_ids}
    for region_id, kind_id, n in rows:
        if kind_id is not None:
            result[region_id][kind_id] = n
    return result


def named(model, counts: dict[int, int]) -> list[tuple[str, int]]:
    """[(name, count)] for every row of ``model`` in its order, those with no count listed too — one query."""
    return [(name, counts.get(pk, 0)) for pk, name in model.objects.values_list("pk", "name")]


def sum_counts(parts) -> dict[int, int]:
    result: dict[int, int] = defaultdict(int)
    for part in parts:
        for key, n in part.items():
            result[int(key)] += n
    return dict(result)


def by_category(where: Where) -> list[tuple[str, int]]:
    """[(category name, cases received)] in the categories' order, every category listed — two queries."""
    return named(Category, sum_counts(received_by_region("category", where).values()))


def by_channel(where: Where) -> list[tuple[str, int]]:
    """[(channel name, cases received)] — two queries."""
    return named(Channel, sum_counts(received_by_region("channel", where).values()))


# -- the department league ---------------------------------------------------------------------


@dataclass
class LeagueRow:
    department: str
    counted: int = 0
    on_time: int = 0
    pending: int = 0
    closed: int = 0
    average_days: Decimal | None = None
    returns: int = 0
    extensions: int = 0
    points: Decimal | None = None
    rule_gap: bool = False
    rank: int | None = None
    department_id: int | None = None

    @property
    def rate(self) -> Fraction | None:
        return Fraction(self.on_time, self.counted) if self.counted else None

    @property
    def rate_text(self) -> str | None:
        return rate_str(self.on_time, self.counted)

    # The figures a stored league keeps (names, points and ranks are put on when it is read).
    FIGURES = ("counted", "on_time", "pending", "closed", "returns", "extensions")

    def figures(self) -> dict:
        data: dict = {name: getattr(self, name) for name in self.FIGURES}
        data["average_days"] = str(self.average_days) if self.average_days is not None else None
        return data

    @classmethod
    def from_figures(cls, department_id: int, data: dict) -> LeagueRow:
        row = cls("", department_id=department_id)
        for name in cls.FIGURES:
            setattr(row, name, int(data[name]))
        row.average_days = Decimal(data["average_days"]) if data.get("average_days") is not None else None
        return row


@dataclass
class League:
    rows: list[LeagueRow]
    moment: dt.date  # item 15's figures are as of this day


def _days(duration) -> Decimal | None:
    if duration is None:
        return None
    if isinstance(duration, dt.timedelta):
        seconds = duration.total_seconds()
    else:  # a backend that hands back microseconds
        seconds = float(duration) / 1_000_000
    return Decimal(seconds / 86400).quantize(Decimal("0.1"))


def league_day(year: int, today: dt.date) -> tuple[dt.date, bool]:
    """The day item 15's figures of the league are taken as of, with the assessment's cutoff as
    the scores use it (12-20 only when none is set) — one query."""
    assessment = Assessment.objects.filter(year=year).only("cutoff").first()
    cutoff = make_scope(year, assessment.cutoff if assessment is not None else None).cutoff
    return moment(year, cutoff, today)


def league_figures(where: Where) -> tuple[dt.date, dict[int, dict[int, LeagueRow]]]:
    """(the day, {region id: {department id: its row without name, points or rank}}) of every
    county of ``where`` — five queries however many counties."""
    day, as_of_today = league_day(where.year, where.today)
    scope = make_scope(where.year, day, as_of_today=as_of_today)
    _regions, by_department = timeliness_for_regions(where.region_ids, scope)
    result: dict[int, dict[int, LeagueRow]] = {pk: {} for pk in where.region_ids}

    def row(region_id: int, department_id: int) -> LeagueRow:
        found = result[region_id].get(department_id)
        if found is None:
            found = result[region_id][department_id] = LeagueRow("", department_id=department_id)
        return found

    for region_id, departments in by_department.items():
        for department_id, t in departments.items():
            if department_id is None:
                continue
            r = row(region_id, department_id)
            r.counted, r.on_time, r.pending = t.counted, t.on_time, len(t.pending)
    took = ExpressionWrapper(F("closed_at") - F("received_at"), output_field=DurationField())
    for region_id, department_id, closed, average in (
        where.cases()
        .filter(state__in=CLOSED_STATES, closed_at__gte=where.start, closed_at__lt=where.end, department__isnull=False)
        .values("region_id", "department")
        .annotate(closed=Count("id"), average=Avg(took))
        .values_list("region_id", "department", "closed", "average")
        .order_by()
    ):
        r = row(region_id, department_id)
        r.closed, r.average_days = closed, _days(average)
    for region_id, department_id, n in (
        LedgerEntry.objects.filter(
            action="return",
            case__region_id__in=where.region_ids,
            occurred_at__gte=where.start,
            occurred_at__lt=where.end,
        )
        .values("case__region_id", "payload__department")
        .annotate(n=Count("id"))
        .values_list("case__region_id", "payload__department", "n")
        .order_by()
    ):
        if department_id not in (None, ""):
            row(region_id, int(department_id)).returns += n
    # Extension requests from the ledger (imports and generated years have no request rows), put to
    # the department the case is with — the one that asked, as a case is extended only while it
    # is with a department.
    for region_id, department_id, n in (
        LedgerEntry.objects.filter(
            action="request_extension",
            case__region_id__in=where.region_ids,
            occurred_at__gte=where.start,
            occurred_at__lt=where.end,
            case__department__isnull=False,
        )
        .values("case__region_id", "case__department")
        .annotate(n=Count("id"))
        .values_list("case__region_id", "case__department", "n")
        .order_by()
    ):
        row(region_id, department_id).extensions += n
    return day, result


def ranked(rows: list[LeagueRow], day: dt.date, params: dict) -> League:
    """The rows named, given their points on the ladder and ranked by item 15's exact rate (equal
    rates share a rank) — one query (the departments' names)."""
    ids = [row.department_id for row in rows if row.department_id is not None]
    names: dict[int | None, str] = dict(Department.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    result = []
    for row in rows:
        row.department = names.get(row.department_id, str(row.department_id))
        row.points, row.rule_gap = None, False
        rate = row.rate  # None: nothing counted, no rung
        if rate is not None:
            rung = ladder(rate, params)
            row.points, row.rule_gap = rung.points, rung.rule_gap
        result.append(row)
    for row in result:
        rate = row.rate
        row.rank = (
            None if rate is None else 1 + sum(1 for other in result if other.rate is not None and other.rate > rate)
        )
    result.sort(key=lambda r: (r.rank is None, r.rank or 0, r.department))
    return League(result, day)


def league(region: Region, year: int, *, today: dt.date, params: dict) -> League:
    """The county's departments ranked by item 15's exact rate (equal rates share a rank), with
    their average days to close, returns and extension requests in the year."""
    day, figures = league_figures(Where(year, [region], today))
    return ranked(list(figures[region.pk].values()), day, params)
