"""Trends in figures (issue 13): a county's or the city's year month by month, by category and by
channel, its departments' league and the enterprises' satisfaction — each chart from one
aggregate query (the league from one query per column), so the cost stays flat however many
cases there are. Months are Asia/Shanghai months; "the city" is every county the user may read.

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


def received_and_closed(where: Where) -> dict[str, list[int]]:
    """{"received": [12 counts], "closed": [12 counts]} — one query (two aggregates, UNION ALL)."""
    zone = local_zone()
    received = (
        where.cases()
        .filter(received_at__gte=where.start, received_at__lt=where.end)
        .annotate(month=TruncMonth("received_at", tzinfo=zone), series=Value(0, IntegerField()))
        .values("month", "series")
        .annotate(n=Count("id"))
        .values_list("series", "month", "n")
        .order_by()
    )
    closed = (
        where.cases()
        .filter(state__in=CLOSED_STATES, closed_at__gte=where.start, closed_at__lt=where.end)
        .annotate(month=TruncMonth("closed_at", tzinfo=zone), series=Value(1, IntegerField()))
        .values("month", "series")
        .annotate(n=Count("id"))
        .values_list("series", "month", "n")
        .order_by()
    )
    result = {"received": [0] * 12, "closed": [0] * 12}
    for series, month, n in received.union(closed, all=True):
        result["received" if series == 0 else "closed"][_month_of(month) - 1] += n
    return result


def on_time_by_month(where: Where) -> list[tuple[int, int]]:
    """[(on time, closed)] for each month — one query."""
    zone = local_zone()
    rows = (
        where.cases()
        .filter(state__in=CLOSED_STATES, closed_at__gte=where.start, closed_at__lt=where.end)
        .annotate(month=TruncMonth("closed_at", tzinfo=zone), closed_on=TruncDate("closed_at", tzinfo=zone))
        .values("month")
        .annotate(
            closed=Count("id"), on_time=Count("id", filter=Q(due_date__isnull=True) | Q(closed_on__lte=F("due_date")))
        )
        .values_list("month", "on_time", "closed")
        .order_by()
    )
    result = [(0, 0)] * 12
    for month, on_time, closed in rows:
        result[_month_of(month) - 1] = (on_time, closed)
    return result


def satisfaction_by_month(where: Where) -> dict[str, list[int]]:
    """{answer: [12 counts]} of the follow-ups recorded in each month — one query."""
    rows = (
        FollowUp.objects.filter(
            case__region_id__in=where.region_ids, recorded_at__gte=where.start, recorded_at__lt=where.end
        )
        .annotate(month=TruncMonth("recorded_at", tzinfo=local_zone()))
        .values("month", "satisfaction")
        .annotate(n=Count("id"))
        .values_list("month", "satisfaction", "n")
        .order_by()
    )
    result = {key: [0] * 12 for key, _label in SATISFACTION}
    for month, answer, n in rows:
        if answer in result:
            result[answer][_month_of(month) - 1] += n
    return result


# -- the year by kind --------------------------------------------------------------------------


def _received_by(model, where: Where) -> list[tuple[str, int]]:
    """[(name, cases received)] for every row of ``model`` (a category or a channel), in its order,
    those with no case listed too — one query."""
    received = Q(
        case__region_id__in=where.region_ids, case__received_at__gte=where.start, case__received_at__lt=where.end
    )
    return list(dict(model.objects.annotate(n=Count("case", filter=received)).values_list("name", "n")).items())


def by_category(where: Where) -> list[tuple[str, int]]:
    """[(category name, cases received)] in the categories' order, every category listed — one query."""
    return _received_by(Category, where)


def by_channel(where: Where) -> list[tuple[str, int]]:
    """[(channel name, cases received)] — one query."""
    return _received_by(Channel, where)


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

    @property
    def rate(self) -> Fraction | None:
        return Fraction(self.on_time, self.counted) if self.counted else None

    @property
    def rate_text(self) -> str | None:
        return rate_str(self.on_time, self.counted)


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


def league(region: Region, year: int, *, today: dt.date, params: dict) -> League:
    """The county's departments ranked by item 15's exact rate (equal rates share a rank), with
    their average days to close, returns and extension requests in the year."""
    # The assessment's cutoff, as the scores use it (12-20 only when none is set).
    assessment = Assessment.objects.filter(year=year).only("cutoff").first()
    cutoff = make_scope(year, assessment.cutoff if assessment is not None else None).cutoff
    day, as_of_today = moment(year, cutoff, today)
    scope = make_scope(year, day, as_of_today=as_of_today)
    where = Where(year, [region], today)
    _regions, by_department = timeliness_for_regions([region.pk], scope)
    rows: dict[int, LeagueRow] = defaultdict(lambda: LeagueRow(""))
    for department_id, t in by_department.get(region.pk, {}).items():
        if department_id is None:
            continue
        row = rows[department_id]
        row.counted, row.on_time, row.pending = t.counted, t.on_time, len(t.pending)
    took = ExpressionWrapper(F("closed_at") - F("received_at"), output_field=DurationField())
    for department_id, closed, average in (
        where.cases()
        .filter(state__in=CLOSED_STATES, closed_at__gte=where.start, closed_at__lt=where.end, department__isnull=False)
        .values("department")
        .annotate(closed=Count("id"), average=Avg(took))
        .values_list("department", "closed", "average")
        .order_by()
    ):
        rows[department_id].closed, rows[department_id].average_days = closed, _days(average)
    for department_id, n in (
        LedgerEntry.objects.filter(
            action="return", case__region=region, occurred_at__gte=where.start, occurred_at__lt=where.end
        )
        .values("payload__department")
        .annotate(n=Count("id"))
        .values_list("payload__department", "n")
        .order_by()
    ):
        if department_id not in (None, ""):
            rows[int(department_id)].returns += n
    # Extension requests from the ledger (imports and generated years have no request rows), put to
    # the department the case is with — the one that asked, as a case is extended only while it
    # is with a department.
    for department_id, n in (
        LedgerEntry.objects.filter(
            action="request_extension",
            case__region=region,
            occurred_at__gte=where.start,
            occurred_at__lt=where.end,
            case__department__isnull=False,
        )
        .values("case__department")
        .annotate(n=Count("id"))
        .values_list("case__department", "n")
        .order_by()
    ):
        rows[department_id].extensions += n
    names = dict(Department.objects.filter(pk__in=list(rows)).values_list("pk", "name")) if rows else {}
    result = []
    for department_id, row in rows.items():
        row.department = names.get(department_id, str(department_id))
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
