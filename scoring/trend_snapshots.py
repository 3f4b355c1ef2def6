"""The stored trends: a year's chart series computed off the request, read by the trends page.

The trends page aggregates the year's cases, follow-ups and ledger entries: seconds at a million
cases. It reads a ``TrendSnapshot`` instead — every county's series as last computed by the same
code the live charts use (``scoring.trends``, grouped by county; several counties' charts are
the sums of theirs) — and puts on the names (categories, channels, departments), the ladder's
points and the league's ranks when it is read, so the figures are those the live charts give for
the same ledger.

When it is computed, as the stored scores are (``scoring.snapshots``) and in the same rounds:
- by ``refresh_due`` every ``SCORE_SNAPSHOT_INTERVAL_SECONDS`` (the beat task
  ``scoring.tasks.refresh_snapshots``, the embedded timers' round) for this year and every year
  stored: only when the ledger has a new entry since (every change of a case, closing, return,
  extension or follow-up writes one), when the day the league is taken as of has passed, or when
  it is older than ``SCORE_SNAPSHOT_MAX_AGE_SECONDS``;
- on the request only when there is none yet (compute once and store), or when the stored one is
  stale and its year small (at most ``SCORE_SNAPSHOT_INLINE_CASES`` cases received). A large
  year's stale series are shown with their time ("计算于 HH:MM") until the next refresh.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from cases.models import Category, Channel, Region, local_date
from ledger.models import LedgerEntry

from . import trends
from .models import TrendSnapshot
from .satisfaction import FollowUpRate
from .snapshots import inline_cases, max_age_seconds


def current_marks() -> dict:
    """What the series read, in one query: the ledger's last entry (entries are append-only)."""
    return {"ledger": LedgerEntry.objects.aggregate(last=Max("pk"))["last"] or 0}


def stale_reason(
    snapshot: TrendSnapshot | None, day: dt.date, as_of_today: bool, marks: dict | None, *, now=None
) -> str:
    """Why the stored series no longer answer the year as of ``day`` ('' when they do)."""
    if snapshot is None:
        return "missing"
    if snapshot.as_of != day or snapshot.as_of_today != as_of_today:
        return "day"
    if ((now or timezone.now()) - snapshot.computed_at).total_seconds() > max_age_seconds():
        return "age"
    if marks is not None and marks != snapshot.marks:
        return "changed"
    return ""


# -- computing -------------------------------------------------------------------------------------


def compute(year: int, today: dt.date) -> tuple[dt.date, bool, dict]:
    """(the league's day, as of today?, {region pk: series}) of every county — ten queries."""
    counties = list(Region.objects.filter(level=Region.Level.COUNTY).order_by("code"))
    where = trends.Where(year, counties, today)
    received = trends.received_and_closed_by_region(where)
    on_time = trends.on_time_by_month_by_region(where)
    categories = trends.received_by_region("category", where)
    channels = trends.received_by_region("channel", where)
    satisfaction = trends.satisfaction_by_month_by_region(where)
    day, as_of_today = trends.league_day(year, today)
    _day, leagues = trends.league_figures(where)
    series = {
        str(pk): {
            "received": received[pk]["received"],
            "closed": received[pk]["closed"],
            "on_time": [list(pair) for pair in on_time[pk]],
            "category": {str(k): n for k, n in categories[pk].items()},
            "channel": {str(k): n for k, n in channels[pk].items()},
            "satisfaction": satisfaction[pk],
            "league": {str(k): row.figures() for k, row in leagues[pk].items()},
        }
        for pk in where.region_ids
    }
    return day, as_of_today, series


def refresh(year: int, *, today: dt.date | None = None) -> TrendSnapshot:
    """Compute the year's series and store them (the callers have found them stale)."""
    today = today or local_date(timezone.now())
    marks = current_marks()
    started = time.perf_counter()
    computed_at = timezone.now()
    day, as_of_today, series = compute(year, today)
    values = {
        "as_of": day,
        "as_of_today": as_of_today,
        "computed_at": computed_at,
        "took_ms": int((time.perf_counter() - started) * 1000),
        "case_count": sum(sum(s["received"]) for s in series.values()),
        "marks": marks,
        "series": series,
    }
    try:
        with transaction.atomic():
            snapshot, _created = TrendSnapshot.objects.update_or_create(year=year, defaults=values)
    except IntegrityError:  # another process stored it meanwhile: ours is as good, write it over
        snapshot = TrendSnapshot.objects.get(year=year)
        for name, value in values.items():
            setattr(snapshot, name, value)
        snapshot.save()
    return snapshot


def refresh_due(*, today: dt.date | None = None) -> list[int]:
    """Refresh this year's series and every stored large year's that is stale (the beat task and
    the timers, beside the stored scores). A past year small enough to be computed on the view
    (``SCORE_SNAPSHOT_INLINE_CASES``) is left to the view: asking for years by the address does
    not add to this round. Returns the years refreshed."""
    today = today or local_date(timezone.now())
    years = {today.year} | set(
        TrendSnapshot.objects.filter(case_count__gt=inline_cases()).values_list("year", flat=True)
    )
    stored = {s.year: s for s in TrendSnapshot.objects.defer("series")}
    marks = current_marks()
    done = []
    for year in sorted(years):
        day, as_of_today = trends.league_day(year, today)
        if stale_reason(stored.get(year), day, as_of_today, marks):
            refresh(year, today=today)
            done.append(year)
    return done


# -- reading ---------------------------------------------------------------------------------------


@dataclass
class Series:
    """The series of a set of counties: the sums of theirs (what ``scoring.trends`` gives for them)."""

    received: list[int] = field(default_factory=lambda: [0] * 12)
    closed: list[int] = field(default_factory=lambda: [0] * 12)
    on_time: list[tuple[int, int]] = field(default_factory=lambda: [(0, 0)] * 12)
    category: dict[int, int] = field(default_factory=dict)
    channel: dict[int, int] = field(default_factory=dict)
    satisfaction: dict[str, list[int]] = field(default_factory=lambda: trends.sum_satisfaction([]))
    # {region pk: {department id: figures}}: a county's league (shown for one county only).
    leagues: dict[int, dict[int, trends.LeagueRow]] = field(default_factory=dict)
    league_day: dt.date | None = None

    @property
    def received_and_closed(self) -> dict[str, list[int]]:
        return {"received": self.received, "closed": self.closed}

    def by_category(self) -> list[tuple[str, int]]:
        return trends.named(Category, self.category)

    def by_channel(self) -> list[tuple[str, int]]:
        return trends.named(Channel, self.channel)

    def league(self, region: Region, params: dict) -> trends.League:
        assert self.league_day is not None
        return trends.ranked(list(self.leagues.get(region.pk, {}).values()), self.league_day, params)

    @property
    def follow_ups(self) -> FollowUpRate:
        """The year's follow-ups by answer (item 21's rate beside the charts)."""
        return FollowUpRate(*(sum(self.satisfaction[key]) for key, _label in trends.SATISFACTION))


def series_for(snapshot: TrendSnapshot, regions: list[Region]) -> Series:
    stored = [snapshot.series.get(str(r.pk)) for r in regions]
    parts = [s for s in stored if s is not None]
    result = Series(
        received=[sum(m) for m in zip([0] * 12, *(s["received"] for s in parts), strict=True)],
        closed=[sum(m) for m in zip([0] * 12, *(s["closed"] for s in parts), strict=True)],
        on_time=trends.sum_on_time([tuple(pair) for pair in s["on_time"]] for s in parts),
        category=trends.sum_counts(s["category"] for s in parts),
        channel=trends.sum_counts(s["channel"] for s in parts),
        satisfaction=trends.sum_satisfaction(s["satisfaction"] for s in parts),
        league_day=snapshot.as_of,
    )
    for region, s in zip(regions, stored, strict=True):
        if s is not None:
            result.leagues[region.pk] = {
                int(k): trends.LeagueRow.from_figures(int(k), v) for k, v in s["league"].items()
            }
    return result


@dataclass
class Stored:
    series: Series
    snapshot: TrendSnapshot
    stale: str  # why it may be behind the ledger ('' if not known to be)


def stored_series(year: int, regions: list[Region], *, today: dt.date | None = None) -> Stored:
    """The year's series of ``regions`` from the stored row (computed here only when there is none,
    or when it is stale and the year small: see the module's doc)."""
    today = today or local_date(timezone.now())
    snapshot = TrendSnapshot.objects.filter(year=year).first()
    day, as_of_today = trends.league_day(year, today)
    reason = stale_reason(snapshot, day, as_of_today, current_marks())
    if snapshot is None or (reason and snapshot.case_count <= inline_cases()):
        snapshot, reason = refresh(year, today=today), ""
    return Stored(series_for(snapshot, regions), snapshot, reason)
