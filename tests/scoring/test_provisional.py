import datetime as dt

import pytest
from django.core.cache import cache

from cases import services
from tests.conftest import pdf_file


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_county_dashboard_shows_its_own_provisional_score_only(client, county_a, assigned_case, dept_x_user, region_b):
    services.resolve(assigned_case, by=dept_x_user, result="已解决", evidence=[pdf_file()])
    client.force_login(county_a)
    response = client.get("/")
    assert response.status_code == 200
    rows = response.context["provisional"]["regions"]
    assert [row["code"] for row in rows] == ["411502"]
    assert "provisional-score" in response.content.decode()


def test_city_dashboard_ranks_every_county(client, city_user):
    client.force_login(city_user)
    response = client.get("/")
    rows = response.context["provisional"]["regions"]
    assert len(rows) == 10 and all(row["rank"] >= 1 for row in rows)


def test_department_dashboard_has_no_score(client, dept_x_user):
    client.force_login(dept_x_user)
    assert client.get("/").context["provisional"] is None


def test_provisional_cutoff_is_today_before_the_assessment_cutoff(county_a):
    from scoring.provisional import provisional_for_user

    now = dt.datetime(2026, 6, 1, 4, 0, tzinfo=dt.UTC)
    data = provisional_for_user(county_a, now=now)
    assert data["year"] == 2026 and data["cutoff"] == dt.date(2026, 6, 1)
