"""CSV and XLSX exports of the 台帐: streamed, scoped, filtered, Excel-friendly, and a query count
that does not grow with the number of rows."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.http import FileResponse, StreamingHttpResponse
from django.urls import reverse
from openpyxl import load_workbook

from cases import services
from tests.cases.test_views_ledger import bulk_cases
from tests.conftest import pdf_file

pytestmark = pytest.mark.django_db

TZ = dt.timezone(dt.timedelta(hours=8))
HEADERS = [
    "序号",
    "编号",
    "企业名称",
    "问题类别",
    "问题内容",
    "受理时间",
    "责任单位",
    "办理时限",
    "办理状态",
    "办结时间",
    "办理结果",
    "是否按期",
]

# Queries of an export, whatever the number of rows:
#   1 session, 2 user, 3 profile (role), 4 the chosen category (the filter form validates it),
#   5 the rows: one SELECT joining enterprise, category and department, read in chunks of 2,000
#     through one cursor (a server-side cursor on PostgreSQL).
EXPORT_QUERIES = 5


def read_csv(response) -> list[list[str]]:
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens it as UTF-8
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def read_xlsx(response) -> list[tuple]:
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    return list(workbook.active.iter_rows(values_only=True))


@pytest.fixture
def many(region_a, category, channel, dept_x, dept_y, county_a):
    def make(n):
        return bulk_cases(
            n, region=region_a, category=category, channel=channel, departments=[dept_x, dept_y], by=county_a
        )

    return make


@pytest.mark.parametrize("n", [100, 2000])
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_export_query_count_does_not_grow_with_rows(
    client, county_a, many, category, django_assert_max_num_queries, n, kind
):
    many(n)
    client.force_login(county_a)
    with django_assert_max_num_queries(EXPORT_QUERIES):
        response = client.get(reverse(f"cases:ledger_export_{kind}"), {"category": category.pk, "sort": "due_date"})
        rows = read_csv(response) if kind == "csv" else read_xlsx(response)
    assert len(rows) == n + 1
    assert list(rows[0]) == HEADERS


def test_csv_export_has_the_twelve_columns_and_a_dated_file_name(client, county_a, make_case, dept_x, dept_x_user):
    with time_machine.travel(dt.datetime(2025, 3, 3, 9, 0, tzinfo=TZ), tick=False):
        case = services.assign(
            make_case(enterprise_name="信阳毛尖茶业有限公司", description='=HYPERLINK("x")'),
            by=county_a,
            department=dept_x,
        )
        services.resolve(case, by=dept_x_user, result="已协调解决", evidence=[pdf_file()])
    with time_machine.travel(dt.datetime(2025, 3, 20, 9, 0, tzinfo=TZ), tick=False):
        client.force_login(county_a)
        response = client.get(reverse("cases:ledger_export_csv"))
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''%E5%8F%B0%E5%B8%90-20250320.csv"
    header, row = read_csv(response)
    assert header == HEADERS
    assert row[:4] == ["1", case.number, "信阳毛尖茶业有限公司", "用工对接"]
    assert row[4] == '\'=HYPERLINK("x")'  # never a live formula in Excel
    assert row[5] == "2025-03-03 09:00" and row[6] == dept_x.name and row[7] == "2025-03-10"
    assert row[8] == "已解决" and row[9] == "2025-03-03 09:00" and row[10] == "已协调解决" and row[11] == "是"


def test_xlsx_export_is_streamed_from_a_file_with_real_dates(client, county_a, make_case, dept_x):
    with time_machine.travel(dt.datetime(2025, 3, 3, 9, 0, tzinfo=TZ), tick=False):
        case = services.assign(make_case(description="=1+1"), by=county_a, department=dept_x)
    with time_machine.travel(dt.datetime(2025, 3, 20, 9, 0, tzinfo=TZ), tick=False):
        client.force_login(county_a)
        response = client.get(reverse("cases:ledger_export_xlsx"))
    assert isinstance(response, FileResponse) and response.streaming
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "%E5%8F%B0%E5%B8%90-20250320.xlsx" in response["Content-Disposition"]
    header, row = read_xlsx(response)
    assert list(header) == HEADERS
    assert row[1] == case.number and row[4] == "=1+1"  # text, not a formula
    assert row[5] == dt.datetime(2025, 3, 3, 9, 0) and row[7] == dt.datetime(2025, 3, 10)
    assert row[8] == "已交办" and row[11] == "逾期"


def test_exports_follow_the_list_filters(client, county_a, make_case, dept_x):
    routed = services.assign(make_case(), by=county_a, department=dept_x)
    waiting = make_case()
    client.force_login(county_a)
    rows = read_csv(client.get(reverse("cases:ledger_export_csv"), {"state": "assigned"}))
    assert [r[1] for r in rows[1:]] == [routed.number]
    rows = read_xlsx(client.get(reverse("cases:ledger_export_xlsx"), {"state": "received"}))
    assert [r[1] for r in rows[1:]] == [waiting.number]


def test_ledger_page_links_to_exports_with_the_same_filters(client, county_a):
    client.force_login(county_a)
    body = client.get(reverse("cases:ledger"), {"state": "assigned", "page": 2}).content.decode()
    assert f'{reverse("cases:ledger_export_csv")}?state=assigned"' in body
    assert f'{reverse("cases:ledger_export_xlsx")}?state=assigned"' in body


def test_xlsx_export_of_thousands_of_rows_streams_in_chunks(client, county_a, many):
    many(3000)
    client.force_login(county_a)
    response = client.get(reverse("cases:ledger_export_xlsx"))
    assert isinstance(response, FileResponse)
    chunks = list(response.streaming_content)
    # The workbook is sent from its temporary file in FileResponse.block_size pieces, never as one string.
    assert len(chunks) > 1 and max(len(c) for c in chunks) <= FileResponse.block_size
    rows = list(load_workbook(io.BytesIO(b"".join(chunks)), read_only=True).active.iter_rows(values_only=True))
    assert len(rows) == 3001
