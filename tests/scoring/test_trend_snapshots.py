"""The stored trends series (scoring.trend_snapshots): the trends page reads them instead of
aggregating the year on the view, and they give every chart's figures exactly as the live
computation does for the same ledger."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Case, Region
from scoring import trend_snapshots, trends
from scoring.models import TrendSnapshot
from scoring.satisfaction import satisfaction_for_regions, total_of
from scoring.views_trends import CHARTS, figure

from .test_trends import PARAMS, YEAR, _generate, year_with_follow_ups  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db
TODAY = dt.date(YEAR, 11, 3)  # before the cutoff: the league is as of today (provisional)


def _counties():
    return list(Region.objects.filter(level=Region.Level.COUNTY).order_by("code"))


def _no_aggregates(monkeypatch):
    """Aggregating the year's cases, follow-ups or ledger on the request fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("the year was aggregated on the request")

    for name in (
        "received_and_closed_by_region",
        "on_time_by_month_by_region",
        "received_by_region",
        "satisfaction_by_month_by_region",
        "league_figures",
        "timeliness_for_regions",
    ):
        monkeypatch.setattr(trends, name, refuse)


@pytest.mark.parametrize("scope", ["city", "county", "two counties"])
def test_the_stored_series_are_the_live_ones(year_with_follow_ups, scope):  # noqa: F811 - the fixture
    counties = _counties()
    region = year_with_follow_ups if scope == "county" else None
    regions = {"city": counties, "county": [year_with_follow_ups], "two counties": counties[:2]}[scope]
    where = trends.Where(YEAR, regions, TODAY)
    snapshot = trend_snapshots.refresh(YEAR, today=TODAY)
    assert (snapshot.as_of, snapshot.as_of_today) == (TODAY, True)
    assert snapshot.case_count == Case.objects.count() == 300
    stored = trend_snapshots.series_for(snapshot, regions)
    compared = 0
    for key in CHARTS:
        live = figure(key, where, region)
        kept = figure(key, where, region, stored)
        assert (live is None) == (kept is None)
        if live is None:
            continue
        assert (kept.title, kept.header, kept.rows) == (live.title, live.header, live.rows)
        assert kept.chart == live.chart
        compared += sum(v for row in live.rows for v in row[1:] if isinstance(v, int))
    assert compared > 100  # the charts are not empty
    assert stored.follow_ups == total_of(satisfaction_for_regions(regions, YEAR).values())
    assert stored.follow_ups.total >= 10
    if scope == "county":
        assert len([row for row in stored.league(region, PARAMS).rows if row.counted]) > 1


def test_the_page_and_xlsx_read_the_stored_series(
    client,
    year_with_follow_ups,  # noqa: F811 - the fixture
    county_a,
    assessor,
    monkeypatch,
):
    trend_snapshots.refresh(YEAR)
    live = trends.received_and_closed(trends.Where(YEAR, _counties(), TODAY))
    with monkeypatch.context() as patched:
        _no_aggregates(patched)
        client.force_login(assessor)
        with CaptureQueriesContext(connection) as captured:
            city = client.get(f"/scoring/trends/{YEAR}/")
        assert city.status_code == 200
        text = city.content.decode()
        assert text.count("<svg") >= 5 and "计算于" in text
        assert len(captured) <= 25, [q["sql"] for q in captured]
        county = client.get(f"/scoring/trends/{YEAR}/?region={year_with_follow_ups.code}")
        assert county.status_code == 200 and "责任单位排名" in county.content.decode()
        workbook = client.get(f"/scoring/trends/{YEAR}/received.xlsx")
        assert workbook.status_code == 200
        league = client.get(f"/scoring/trends/{YEAR}/league.xlsx?region={year_with_follow_ups.code}")
        assert league.status_code == 200
    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(workbook.content)).active.iter_rows(values_only=True))
    assert [r[1] for r in rows[2:14]] == live["received"]


def test_no_stored_series_yet_are_computed_once_and_stored(client, assessor, region_a):
    _generate(40, 3)
    assert not TrendSnapshot.objects.exists()
    client.force_login(assessor)
    assert client.get(f"/scoring/trends/{YEAR}/").status_code == 200
    first = TrendSnapshot.objects.get(year=YEAR)
    assert client.get(f"/scoring/trends/{YEAR}/").status_code == 200
    assert TrendSnapshot.objects.get(year=YEAR).computed_at == first.computed_at


def test_a_small_year_is_computed_again_on_the_view_when_the_ledger_moved(client, assessor, region_a):
    _generate(40, 3)
    trend_snapshots.refresh(YEAR)
    _generate(20, 4)  # 20 more cases, their entries in the ledger
    # A small past year is left to the view, not refreshed in the background round.
    assert trend_snapshots.refresh_due(today=dt.date(YEAR + 1, 3, 1)) == [YEAR + 1]
    assert TrendSnapshot.objects.get(year=YEAR).case_count == 40
    client.force_login(assessor)
    assert client.get(f"/scoring/trends/{YEAR}/").status_code == 200
    assert TrendSnapshot.objects.get(year=YEAR).case_count == 60


def test_a_large_years_stale_series_are_shown_and_refreshed_off_the_request(
    client, assessor, region_a, settings, monkeypatch
):
    settings.SCORE_SNAPSHOT_INLINE_CASES = 0  # every year counts as large: never computed on the view
    _generate(40, 3)
    trend_snapshots.refresh(YEAR)
    _generate(20, 4)
    client.force_login(assessor)
    with monkeypatch.context() as patched:
        _no_aggregates(patched)
        stored = trend_snapshots.stored_series(YEAR, _counties())
        assert stored.stale == "changed" and sum(stored.series.received) == 40
        page = client.get(f"/scoring/trends/{YEAR}/")
        assert page.status_code == 200 and "计算于" in page.content.decode()
    today = dt.date.today()
    assert YEAR in trend_snapshots.refresh_due(today=today)
    fresh = TrendSnapshot.objects.get(year=YEAR)
    assert fresh.case_count == 60 and fresh.marks == trend_snapshots.current_marks()
    assert trend_snapshots.stored_series(YEAR, _counties()).stale == ""
    assert trend_snapshots.refresh_due(today=today) == []  # nothing changed: nothing computed


def test_the_embedded_timers_and_the_beat_task_refresh_the_series(region_a, settings):
    settings.SCORE_SNAPSHOT_INLINE_CASES = 0
    _generate(40, 3)
    trend_snapshots.refresh(YEAR)
    _generate(20, 4)
    call_command("run_timers", "--once", stdout=io.StringIO())
    assert TrendSnapshot.objects.get(year=YEAR).case_count == 60
    _generate(10, 5)
    from scoring.tasks import refresh_snapshots

    refresh_snapshots()
    assert TrendSnapshot.objects.get(year=YEAR).case_count == 70


def test_a_new_day_makes_the_provisional_league_stale(region_a):
    snapshot = trend_snapshots.refresh(2026, today=dt.date(2026, 5, 4))
    day, as_of_today = trends.league_day(2026, dt.date(2026, 5, 5))
    assert trend_snapshots.stale_reason(snapshot, day, as_of_today, trend_snapshots.current_marks()) == "day"
