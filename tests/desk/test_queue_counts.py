"""The dashboard's queue counts at scale: exact up to a cap, "N+" beyond it, and the rows shown
are still the queue's oldest cases (the county table's cells are counted the same way)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases import services
from desk import dashboard as desk_dashboard

from .test_dashboard import dashboard, section

pytestmark = pytest.mark.django_db


def _table(body: str) -> str:
    table = body[body.index('id="county-queues"') :]
    return table[: table.index("</section>")]


def test_a_queue_beyond_the_cap_shows_the_cap_and_its_oldest_cases(client, make_case, county_a, monkeypatch):
    monkeypatch.setattr(desk_dashboard, "COUNT_CAP", 3)
    cases = [make_case() for _ in range(5)]
    body = dashboard(client, county_a)
    to_route = section(body, "to_route")
    assert '<span class="count">3+</span>' in to_route
    oldest = sorted(cases, key=lambda c: (c.received_at, c.pk))
    assert all(c.number in to_route for c in oldest)  # five rows fit under ROWS: every one is listed


def test_a_queue_at_the_cap_is_exact(client, make_case, county_a, monkeypatch):
    monkeypatch.setattr(desk_dashboard, "COUNT_CAP", 3)
    for _ in range(3):
        make_case()
    assert '<span class="count">3</span>' in section(dashboard(client, county_a), "to_route")


def _city_table_counts(client, make_case, city_user, county_a, county_b, region_b, dept_x, dept_x_user, monkeypatch):
    monkeypatch.setattr(desk_dashboard, "TABLE_CAP", 2)
    for _ in range(3):
        make_case()
    make_case(by=county_b, region=region_b)
    services.return_case(services.assign(make_case(), by=county_a, department=dept_x), by=dept_x_user, reason="错派")
    table = _table(dashboard(client, city_user))
    row_a = table[table.index('id="county-411502"') :].split("</tr>")[0]
    row_b = table[table.index('id="county-411503"') :].split("</tr>")[0]
    ledger = reverse("cases:ledger")
    region_a = county_a.profile.region_id
    assert f'<a href="{ledger}?queue=to_route&amp;region={region_a}">2+</a>' in row_a
    assert f'<a href="{ledger}?queue=returned&amp;region={region_a}">1</a>' in row_a
    assert f'<a href="{ledger}?queue=to_route&amp;region={region_b.pk}">1</a>' in row_b
    assert "<strong>3+</strong>" in table  # 2 (capped) + 1: at least three to be routed in all


def test_city_table_cells_are_capped(
    client, make_case, city_user, county_a, county_b, region_b, dept_x, dept_x_user, monkeypatch
):
    _city_table_counts(client, make_case, city_user, county_a, county_b, region_b, dept_x, dept_x_user, monkeypatch)


@pytest.mark.postgres
def test_city_table_cells_are_capped_on_postgresql(
    client, make_case, city_user, county_a, county_b, region_b, dept_x, dept_x_user, monkeypatch
):
    """The PostgreSQL path: one query, cardinality(ARRAY(… LIMIT cap + 1)) per cell."""
    _city_table_counts(client, make_case, city_user, county_a, county_b, region_b, dept_x, dept_x_user, monkeypatch)
