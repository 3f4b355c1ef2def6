"""The 台帐 and the API list at scale: the count stops at a cap and pages go on lazily past it,
no query counts every matching case, and the rows the 台帐 writes directly are the cells
django-tables2's own rendering gives (cases.paginators, LedgerTable.body_rows)."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import conditional_escape

from cases import paginators, services
from cases.models import Case
from cases.search.ui import SearchLedgerTable
from cases.tables import LedgerTable
from tests.cases.test_views_ledger import bulk_cases, compact
from tests.conftest import pdf_file

pytestmark = pytest.mark.django_db

TZ = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def cap(monkeypatch):
    """A cap of 60 cases, so that 130 cases are "more than the cap"."""
    monkeypatch.setattr(paginators, "CAP", 60)
    return 60


@pytest.fixture
def cases130(region_a, category, channel, dept_x, dept_y, county_a):
    return bulk_cases(
        130, region=region_a, category=category, channel=channel, departments=[dept_x, dept_y], by=county_a
    )


def count_queries(captured) -> list[str]:
    """The queries counting cases."""
    return [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper() and '"cases_case"' in q["sql"]]


def body_rows(html: str) -> list[str]:
    body = compact(html).split("<tbody>")[1].split("</tbody>")[0]
    return [row for row in body.split("</tr>") if "<td" in row]


def counters(rows: list[str]) -> list[int]:
    return [int(re.search(r"<td[^>]*>(\d+)</td>", row).group(1)) for row in rows]


@pytest.fixture(params=["offset", "ids first"])
def deferred(request, monkeypatch):
    """Deep lazy pages read their ids first (DEFERRED_FROM); both ways give the same pages."""
    if request.param == "ids first":
        monkeypatch.setattr(paginators, "DEFERRED_FROM", 50)
    return request.param


def test_ledger_past_the_cap_pages_on_lazily_and_never_counts_everything(client, county_a, cases130, cap, deferred):
    client.force_login(county_a)
    url = reverse("cases:ledger")
    with CaptureQueriesContext(connection) as captured:
        first = client.get(url)
    assert first.status_code == 200
    html = compact(first.content.decode())
    assert "超过 60 件" in html and "共 130 件" not in html
    # The one count is capped (LIMIT cap + 1): no COUNT over every matching case.
    counts = count_queries(captured)
    assert len(counts) == 1 and "LIMIT 61" in counts[0].upper()
    assert counters(body_rows(first.content.decode()))[:2] == [1, 2]
    assert 'href="?page=2"' in html and "下一页" in html and "上一页" not in html

    # Page 2 holds rows 51–100 (the cap of 60 falls inside it); page 3, past the cap, the last 30.
    second = client.get(url, {"page": 2})
    assert counters(body_rows(second.content.decode())) == list(range(51, 101))
    with CaptureQueriesContext(connection) as captured:
        third = client.get(url, {"page": 3})
    offset = [q["sql"] for q in captured.captured_queries if "OFFSET 100" in q["sql"]]
    assert len(offset) == 1
    # Ids first: the OFFSET skips bare ids, the rows are then read with their joins by id.
    assert ('"cases_enterprise"' not in offset[0]) == (deferred == "ids first")
    third_html = compact(third.content.decode())
    assert third.status_code == 200
    assert counters(body_rows(third.content.decode())) == list(range(101, 131))
    assert "上一页" in third_html and 'href="?page=2"' in third_html
    assert "下一页" not in third_html  # the look-ahead row found nothing beyond
    # The newest first throughout, none twice.
    numbers = [
        re.search(r'<a href="/cases/\d+/">([^<]+)</a>', row).group(1)
        for page in (first, second, third)
        for row in body_rows(page.content.decode())
    ]
    expected = list(
        Case.objects.filter(pk__in=[c.pk for c in cases130])
        .order_by("-received_at", "-id")
        .values_list("number", flat=True)
    )
    assert numbers == expected


def test_ledger_under_the_cap_counts_exactly_and_shows_every_page(client, county_a, cases130):
    client.force_login(county_a)
    response = client.get(reverse("cases:ledger"), {"page": 3})
    html = compact(response.content.decode())
    assert "共 130 件" in html
    table = response.context["table"]
    assert table.paginator.count == 130 and not table.paginator.count_capped and table.paginator.num_pages == 3
    assert counters(body_rows(response.content.decode())) == list(range(101, 131))
    # A page past the end shows the last one (as before), not an error.
    assert client.get(reverse("cases:ledger"), {"page": 9}).context["table"].page.number == 3


def test_filtered_ledger_counts_with_a_limit_too(client, county_a, cases130, cap):
    client.force_login(county_a)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("cases:ledger"), {"state": "resolved", "sort": "received_at"})
    assert response.status_code == 200
    assert all("LIMIT 61" in sql.upper() for sql in count_queries(captured))
    # 130 cases, a quarter resolved: under the cap, exact.
    resolved = Case.objects.filter(state="resolved").count()
    assert 0 < resolved < 60 and f"共 {resolved} 件" in compact(response.content.decode())


def test_api_list_past_the_cap(api, county_a, cases130, cap, deferred):
    client = api(county_a)
    with CaptureQueriesContext(connection) as captured:
        body = client.get("/api/v1/cases/", {"page_size": 50}).json()
    assert body["count"] == 61 and body["count_capped"] is True
    counts = count_queries(captured)
    assert len(counts) == 1 and "LIMIT 61" in counts[0].upper()
    assert body["next"].endswith("page=2&page_size=50") or "page=2" in body["next"]
    third = client.get("/api/v1/cases/", {"page_size": 50, "page": 3}).json()
    assert len(third["results"]) == 30 and third["next"] is None and "page=2" in third["previous"]
    seen = [
        r["id"] for p in (1, 2, 3) for r in client.get("/api/v1/cases/", {"page_size": 50, "page": p}).json()["results"]
    ]
    assert len(seen) == len(set(seen)) == 130
    # "last" cannot be known past the cap: a clear 404, not a wrong page.
    last = client.get("/api/v1/cases/", {"page": "last"})
    assert last.status_code == 404 and "60" in last.json()["detail"]
    assert client.get("/api/v1/cases/", {"page": 4, "page_size": 50}).status_code == 404


def test_api_list_under_the_cap_is_exact(api, county_a, cases130):
    body = api(county_a).get("/api/v1/cases/", {"page": "last"}).json()
    assert body["count"] == 130 and body["count_capped"] is False and len(body["results"]) == 30


def _cells_by_django_tables2(table) -> list[list[str]]:
    table._counter = itertools.count()  # as at the one rendering of a page (its 序号 counts rows made)
    return [[str(conditional_escape(cell)) for _column, cell in row.items()] for row in table.page.object_list]


def _cells_written(table) -> list[list[str]]:
    return [[str(conditional_escape(cell)) for cell in cells] for _css, cells in table.body_rows()]


@pytest.mark.parametrize("table_class", [LedgerTable, SearchLedgerTable])
def test_rows_written_directly_are_django_tables2_cells(
    rf, table_class, make_case, county_a, dept_x, dept_x_user, cases130
):
    """Every kind of row: received (no department, no due date), routed, resolved on time and
    late, overdue, with a provisional due date, with markup in the text."""
    with time_machine.travel(dt.datetime(2025, 3, 3, 9, 0, tzinfo=TZ), tick=False):
        fresh = make_case(enterprise_name="<b>未交办</b>企业", description='含"引号"与<script>的描述')
        routed = services.assign(make_case(), by=county_a, department=dept_x)
        resolved = services.resolve(
            services.assign(make_case(), by=county_a, department=dept_x),
            by=dept_x_user,
            result="已解决 & 已回访",
            evidence=[pdf_file()],
        )
    Case.objects.filter(pk=routed.pk).update(due_date_provisional=True)
    today = dt.date(2025, 3, 20)
    pks = [fresh.pk, routed.pk, resolved.pk, *(c.pk for c in cases130[:60])]
    queryset = Case.objects.filter(pk__in=pks).select_related("enterprise", "category", "department")
    request = rf.get("/", {"page": 1})
    kwargs = {"words": ("企业", "引号")} if table_class is SearchLedgerTable else {}
    table = table_class(queryset, today=today, **kwargs)
    table.request = request
    table.paginate(paginator_class=paginators.CappedPaginator, per_page=50, page=2)
    written = _cells_written(table)
    assert written == _cells_by_django_tables2(table)
    assert len(written) == len(pks) - 50 and written[0][0] == "51"
    # And on the first page, with the received case's empty cells.
    table.paginate(paginator_class=paginators.CappedPaginator, per_page=50, page=1)
    first = _cells_written(table)
    assert first == _cells_by_django_tables2(table)
    assert any(row[6] == "—" and row[9] == "—" for row in first)


def test_paginator_on_a_list():
    pager = paginators.CappedPaginator(list(range(25)), 10, cap=12)
    assert pager.count_capped and pager.count == 13
    assert list(pager.page(3).object_list) == [20, 21, 22, 23, 24]
    assert not pager.page(3).has_next() and pager.page(2).has_next()
    exact = paginators.CappedPaginator(list(range(25)), 10, cap=100)
    assert exact.count == 25 and exact.num_pages == 3 and list(exact.page_range) == [1, 2, 3]
