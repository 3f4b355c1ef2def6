"""Trends in pictures: every chart's figures against a plain Python count over a generated year,
one aggregate query per chart whatever the number of cases, the XLSX and the page's scoping."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from cases import services
from cases.models import CLOSED_STATES, Case, Category, Channel, Region
from ledger.models import LedgerEntry
from scoring import trends
from scoring.results import score_year
from scoring.rulesets import DEFAULT_CODE, read
from scoring.views_trends import CHARTS, figure

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
YEAR = 2025
PARAMS = read(DEFAULT_CODE)["params"]["item15"]


def _local(moment):
    return moment.astimezone(SH)


def _generate(n, seed):
    call_command("generate_load", cases=n, year=YEAR, seed=seed, stdout=io.StringIO())


@pytest.fixture
def year_with_follow_ups(county_a, region_a):
    """A generated year, and follow-ups recorded through the service on some closed cases."""
    _generate(300, 11)
    rng = random.Random(5)
    office_of = {}
    from cases.users import create_user

    for case in Case.objects.filter(state__in=CLOSED_STATES).select_related("region").order_by("pk")[:80]:
        office = office_of.get(case.region_id)
        if office is None:
            office = create_user(f"office_{case.region.code}", role="county_office", region=case.region, password="x")[
                0
            ]
            office_of[case.region_id] = office
        services.record_follow_up(
            case,
            by=office,
            satisfaction=rng.choice(["satisfied", "basically_satisfied", "dissatisfied"]),
            note="电话回访",
            now=case.closed_at + dt.timedelta(days=rng.randint(1, 20)),
        )
    return Region.objects.get(code="411502")


def _where(region=None, today=dt.date(YEAR, 12, 31)):
    regions = [region] if region else list(Region.objects.filter(level=Region.Level.COUNTY))
    return trends.Where(YEAR, regions, today)


def _python_counts(cases):
    received, closed, on_time = Counter(), Counter(), Counter()
    for case in cases:
        if _local(case.received_at).year == YEAR:
            received[_local(case.received_at).month] += 1
        if case.state in CLOSED_STATES and case.closed_at and _local(case.closed_at).year == YEAR:
            month = _local(case.closed_at).month
            closed[month] += 1
            if case.due_date is None or _local(case.closed_at).date() <= case.due_date:
                on_time[month] += 1
    return received, closed, on_time


@pytest.mark.parametrize("scope", ["county", "city"])
def test_month_by_month_figures_equal_a_plain_count(year_with_follow_ups, scope):
    region = year_with_follow_ups if scope == "county" else None
    cases = list(Case.objects.filter(region=region) if region else Case.objects.all())
    received, closed, on_time = _python_counts(cases)
    where = _where(region)
    data = trends.received_and_closed(where)
    assert data["received"] == [received[m] for m in range(1, 13)]
    assert data["closed"] == [closed[m] for m in range(1, 13)]
    assert sum(data["received"]) == len(cases)  # every generated case lies in the year
    assert trends.on_time_by_month(where) == [(on_time[m], closed[m]) for m in range(1, 13)]
    assert any(o < c for o, c in trends.on_time_by_month(where))  # some closings are late

    categories = Counter(
        c.category.name for c in Case.objects.filter(pk__in=[c.pk for c in cases]).select_related("category")
    )
    assert dict(trends.by_category(where)) == {
        name: categories[name] for name in Category.objects.values_list("name", flat=True)
    }
    channels = Counter(
        c.channel.name for c in Case.objects.filter(pk__in=[c.pk for c in cases]).select_related("channel")
    )
    assert dict(trends.by_channel(where)) == {
        name: channels[name] for name in Channel.objects.values_list("name", flat=True)
    }


def test_satisfaction_by_month_counts_every_follow_up(year_with_follow_ups):
    from cases.models import FollowUp

    expected = {key: [0] * 12 for key, _label in trends.SATISFACTION}
    for follow_up in FollowUp.objects.all():
        if _local(follow_up.recorded_at).year == YEAR:
            expected[follow_up.satisfaction][_local(follow_up.recorded_at).month - 1] += 1
    got = trends.satisfaction_by_month(_where())
    assert got == expected and sum(map(sum, got.values())) > 50


def test_the_department_league_matches_the_scores_and_the_ledger(year_with_follow_ups):
    region = year_with_follow_ups
    table = trends.league(region, YEAR, today=dt.date(YEAR + 1, 1, 5), params=PARAMS)
    scored = {d.name: d for d in score_year(YEAR).region(region.code).departments}
    assert {row.department for row in table.rows if row.counted} == {
        n for n, d in scored.items() if d.timeliness.counted
    }
    for row in table.rows:
        if row.department in scored:
            t = scored[row.department].timeliness
            assert (row.counted, row.on_time, row.rank) == (t.counted, t.on_time, scored[row.department].rank)
    returns = Counter(
        e.payload["department_name"] for e in LedgerEntry.objects.filter(action="return", case__region=region)
    )
    assert {row.department: row.returns for row in table.rows if row.returns} == dict(returns)
    extensions = Counter(
        e.case.department.name
        for e in LedgerEntry.objects.filter(action="request_extension", case__region=region).select_related(
            "case__department"
        )
    )
    assert {row.department: row.extensions for row in table.rows if row.extensions} == dict(extensions)
    # The league counts the closings of the year (a case received in December may close in January).
    closed = [
        c
        for c in Case.objects.filter(region=region, state__in=CLOSED_STATES).select_related("department")
        if _local(c.closed_at).year == YEAR
    ]
    for row in table.rows:
        mine = [c for c in closed if c.department.name == row.department]
        assert row.closed == len(mine)
        if mine:
            average = sum((c.closed_at - c.received_at).total_seconds() for c in mine) / len(mine) / 86400
            assert abs(float(row.average_days) - average) < 0.06


def _queries(key, region):
    with CaptureQueriesContext(connection) as captured:
        figure(key, _where(region), region)
    return len(captured)


def test_each_chart_costs_the_same_queries_for_50_and_500_cases(region_a, django_assert_max_num_queries):
    # received 1 (UNION ALL), category 2 and channel 2 (the counts, the names), satisfaction 1;
    # on_time: the assessment and rule set for the ladder's lines (2) and its aggregate (1);
    # the league: the assessment and rule set (2), its cutoff (1), item 15's scan (1), closings (1),
    # returns (1), extensions (1), department names (1).
    budget = {"received": 1, "on_time": 3, "category": 2, "channel": 2, "league": 8, "satisfaction": 1}
    _generate(50, 1)
    small = {key: _queries(key, region_a) for key in CHARTS}
    _generate(450, 2)
    assert Case.objects.count() == 500
    large = {key: _queries(key, region_a) for key in CHARTS}
    assert small == large
    for key in CHARTS:
        with django_assert_max_num_queries(budget[key]):
            figure(key, _where(region_a), region_a)


def test_page_and_xlsx(client, county_a, county_b, assessor, region_a):
    _generate(60, 4)
    client.force_login(county_a)
    page = client.get(f"/scoring/trends/{YEAR}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert text.count("<svg") >= 6 and "<script" not in text.split("</head>")[1]
    assert 'style="' not in text  # the CSP forbids style attributes
    assert "责任单位排名" in text  # a county sees its department league
    assert client.get(f"/scoring/trends/{YEAR}/?region=411503").status_code == 404
    workbook = client.get(f"/scoring/trends/{YEAR}/received.xlsx")
    assert workbook.status_code == 200
    rows = list(load_workbook(io.BytesIO(workbook.content)).active.iter_rows(values_only=True))
    expected = trends.received_and_closed(_where(region_a))
    assert [r[1] for r in rows[2:14]] == expected["received"]
    assert client.get(f"/scoring/trends/{YEAR}/nothing.xlsx").status_code == 404
    client.force_login(assessor)
    city = client.get(f"/scoring/trends/{YEAR}/").content.decode()
    assert "全部县区" in city and "请选择县区查看责任单位排名" in city
    assert client.get(f"/scoring/trends/{YEAR}/league.xlsx").status_code == 404  # the league is a county's
    assert client.get(f"/scoring/trends/{YEAR}/league.xlsx?region=411502").status_code == 200
