"""An enterprise's history (SPEC §8): its problems across years, only the cases the user may see,
404 when none; repeated problems marked; linked from every case page."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from cases import services
from tests.conftest import pdf_file

pytestmark = pytest.mark.django_db

CODE = "914115683BJ1XG612H"
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def shared(make_case, county_a, county_b, region_b, dept_x, dept_x_user):
    """One enterprise with cases in two counties and two years."""
    old = make_case(
        description="用地指标不足",
        received_at=dt.datetime(2025, 5, 6, 10, tzinfo=SH),
        now=dt.datetime(2025, 5, 6, 10, tzinfo=SH),
    )
    old = services.assign(old, by=county_a, department=dept_x, now=dt.datetime(2025, 5, 6, 11, tzinfo=SH))
    old = services.resolve(
        old, by=dept_x_user, result="已协调", evidence=[pdf_file()], now=dt.datetime(2025, 5, 8, 11, tzinfo=SH)
    )
    old = services.record_follow_up(
        old, by=county_a, satisfaction="dissatisfied", note="未解决", now=dt.datetime(2025, 5, 9, 11, tzinfo=SH)
    )
    old = services.reopen(old, by=county_a, reason="企业不满意", now=dt.datetime(2025, 5, 9, 12, tzinfo=SH))

    def on(day):
        moment = dt.datetime(2026, 3, day, 10, tzinfo=SH)
        return {"received_at": moment, "now": moment}

    again = make_case(description="用地指标不足，影响二期项目开工", **on(10))  # 308 days later: a repeat
    other = make_case(description="电价优惠政策未落实", **on(11))
    theirs = make_case(by=county_b, region=region_b, description="用地指标不足", **on(12))
    return {"old": old, "again": again, "other": other, "theirs": theirs}


def test_a_county_sees_only_its_own_cases_of_a_shared_enterprise(client, county_a, county_b, shared):
    client.force_login(county_a)
    data = client.get(f"/api/v1/enterprises/{CODE}/").json()
    assert data["credit_code"] == CODE and data["name"] and data["size"]
    assert {c["number"] for c in data["cases"]} == {shared[k].number for k in ("old", "again", "other")}
    assert {c["region"] for c in data["cases"]} == {"411502"}
    assert data["counts"] == {"total": 3, "open": 3, "reopened": 1, "dissatisfied": 1, "repeated": 1}
    first = next(c for c in data["cases"] if c["number"] == shared["old"].number)
    assert (
        first["state"] == "assigned" and first["category"] == "labour" and first["received_at"].startswith("2025-05-06")
    )
    assert first["closed_at"] is None  # reopened: closed no more
    again = next(c for c in data["cases"] if c["number"] == shared["again"].number)
    assert again["repeat_of"] == [shared["old"].number]

    client.force_login(county_b)
    theirs = client.get(f"/api/v1/enterprises/{CODE}/").json()
    assert [c["number"] for c in theirs["cases"]] == [shared["theirs"].number]
    assert theirs["counts"]["total"] == 1


def test_the_city_sees_every_county(client, city_user, shared):
    client.force_login(city_user)
    data = client.get(f"/api/v1/enterprises/{CODE}/").json()
    assert data["counts"]["total"] == 4 and {c["region"] for c in data["cases"]} == {"411502", "411503"}


def test_404_when_the_user_may_see_none_of_its_cases(client, county_b, dept_y_user, make_case):
    make_case()
    client.force_login(county_b)
    assert client.get(f"/api/v1/enterprises/{CODE}/").status_code == 404
    assert client.get(f"/enterprises/{CODE}/").status_code == 404
    assert client.get("/api/v1/enterprises/91411502MA40K0JX58/").status_code == 404  # no such enterprise
    assert client.get("/api/v1/enterprises/%00/").status_code == 404
    client.force_login(dept_y_user)  # a department sees only the cases routed to it
    assert client.get(f"/api/v1/enterprises/{CODE}/").status_code == 404
    client.logout()
    assert client.get(f"/api/v1/enterprises/{CODE}/").status_code == 401


def test_the_page_lists_every_year_and_marks_repeats(client, county_a, shared, django_assert_max_num_queries):
    client.force_login(county_a)
    # session, user, profile, enterprise, its cases (regions, categories, follow-ups joined), the
    # header's display name (the office of the profile)
    with django_assert_max_num_queries(7):
        page = client.get(f"/enterprises/{CODE}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "2025年" in text and "2026年" in text
    assert shared["theirs"].number not in text
    assert text.count("重复反映") >= 2 and "回访不满意" in text


def test_every_case_page_links_its_enterprise(client, county_a, shared):
    client.force_login(county_a)
    page = client.get(f"/cases/{shared['other'].pk}/").content.decode()
    assert f'href="/enterprises/{CODE}/"' in page and "该企业反映的全部问题" in page
