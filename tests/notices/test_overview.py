"""The city's grid of the counties' notices (county × period), and the schedule form round trip."""

from __future__ import annotations

import re

import pytest
import time_machine

from cases.models import Region
from notices import services
from notices.models import NoticeSchedule

from .conftest import RECIPIENTS, at


@pytest.fixture(autouse=True)
def _may_2026():
    with time_machine.travel(at("2026-05-20", 10), tick=False):
        yield


def _cell(page: str, code: str, period: str) -> str:
    """The grid cell of a county's period."""
    row = page.split(f"?region={code}&amp;year=2026")[1].split("</tr>")[0]
    return re.search(rf'<td colspan="\d" class="grid-cell[^"]*" title="{period}">(.*?)</td>', row, re.S).group(0)


@pytest.fixture
def notices(region_a, region_b, county_a, county_b, schedule_for, register):
    schedule_for(region_a)
    schedule_for(region_b, frequency="quarterly")
    register(region_a, "2026-01", "2026-02-03", by=county_a)
    late = services.draft_notice(by=county_a, region=region_a, period="2026-02", now=at("2026-04-02"))
    services.issue_notice(by=county_a, notice=late, now=at("2026-04-02", 11))
    services.draft_notice(by=county_a, region=region_a, period="2026-04", now=at("2026-05-02"))
    register(region_b, "2026-Q1", "2026-04-10", by=county_b)


def test_the_city_opens_on_the_grid_of_the_counties(client, city_user, notices):
    client.force_login(city_user)
    response = client.get("/notices/?year=2026")
    assert response.status_code == 302 and response["Location"] == "/notices/overview/?year=2026"

    page = client.get("/notices/overview/?year=2026").content.decode()
    for region in Region.objects.filter(level=Region.Level.COUNTY):
        assert f">{region.name}</a>" in page
    assert "信阳市</a>" not in page.split("<table")[1]  # the city itself is not a row
    assert "notice-badge-offline" in _cell(page, "411502", "2026-01")
    assert "notice-badge-late" in _cell(page, "411502", "2026-02")  # issued after March ended
    assert "notice-badge-missing" in _cell(page, "411502", "2026-03")
    assert "notice-badge-drafted" in _cell(page, "411502", "2026-04")
    assert "notice-badge-pending" in _cell(page, "411502", "2026-05")
    quarter = _cell(page, "411503", "2026-Q1")
    assert 'colspan="3"' in quarter and "notice-badge-offline" in quarter
    assert "未建立通报制度" in page  # the counties without a schedule say so


def test_the_grid_takes_a_bounded_number_of_queries(client, city_user, notices, django_assert_max_num_queries):
    client.force_login(city_user)
    # session + user + profile (3), regions (2: the counties and the city), schedules, notices,
    # item 14's schedules and notices (2), and the page's savepoints: never one per county or cell.
    with django_assert_max_num_queries(12):
        assert client.get("/notices/overview/?year=2026").status_code == 200


def test_the_city_can_still_open_its_own_notices(client, city_user, notices):
    client.force_login(city_user)
    page = client.get("/notices/?region=411500&year=2026").content.decode()
    assert "各县区通报总览" in page


def test_a_county_office_opens_on_its_own_list_and_has_no_grid(client, county_a, notices):
    client.force_login(county_a)
    assert client.get("/notices/").status_code == 200
    assert client.get("/notices/overview/").status_code == 404


def test_the_assessor_sees_the_grid(client, assessor, notices):
    client.force_login(assessor)
    assert client.get("/notices/").status_code == 302
    assert client.get("/notices/overview/").status_code == 200


def test_the_schedule_form_round_trip_keeps_every_field(client, county_a, region_a, schedule_for):
    import datetime as dt

    schedule_for(region_a, frequency="quarterly", start_date=dt.date(2026, 1, 1))
    client.force_login(county_a)
    form_page = client.get("/notices/regions/411502/schedule/").content.decode()
    # The date input gets an ISO value it can show (not 2026/01/01, which it would drop).
    assert 'name="start_date" value="2026-01-01"' in form_page

    fields = dict(
        re.findall(r'<input type="(?:text|date|email|hidden|number)" name="([^"]+)" value="([^"]*)"', form_page)
    )
    fields.update(
        dict(
            re.findall(
                r'<input type="(?:text|date|email|hidden|number)" name="([^"]+)"[^>]*? value="([^"]*)"', form_page
            )
        )
    )
    for name, value in re.findall(r'<select name="([^"]+)"[^>]*>.*?<option value="([^"]*)" selected', form_page, re.S):
        fields[name] = value
    fields.pop("csrfmiddlewaretoken", None)
    assert client.post("/notices/regions/411502/schedule/", fields).status_code == 302

    schedule = NoticeSchedule.objects.get(region=region_a)
    assert schedule.start_date == dt.date(2026, 1, 1)
    assert schedule.frequency == "quarterly"
    assert sorted((r.group, r.name, r.email) for r in schedule.recipients.all()) == sorted(
        (r["group"], r["name"], r["email"]) for r in RECIPIENTS
    )
