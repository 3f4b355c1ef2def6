"""The 台帐 list: columns, filters, sorting, pagination, and a query count that does not grow
with the number of cases (the same bound at 100 and at 2,000)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.models import Case, CaseAssignment, DepartmentCase, Enterprise, State
from ledger.models import GENESIS_HASH, LedgerEntry
from tests.conftest import pdf_file

pytestmark = pytest.mark.django_db

TZ = dt.timezone(dt.timedelta(hours=8))

# Queries the list page makes, whatever the number of cases (worst case: a department user
# filtering by category):
#   1 session (the database's when there is no Redis),
#   2 the user with the profile, its region and department (cases.auth: one query),
#   3 the chosen category (the filter form validates ?category=),
#   4 COUNT for the paginator (capped),
#   5 unread-notifications badge (context processor of base.html, counted once per page),
#   6 region, 7 department and 8 category choices of the filter form (one plain query each),
#   9 the page's 50 rows (one SELECT joining enterprise, category and department);
#  10 for a department, the page's 50 ids first (read from its DepartmentCase rows and their
#     index), then those rows — cheaper at a million cases than one query walking the join.
LIST_QUERIES = 10


def compact(html: str) -> str:
    """The page without the whitespace between tags, so cells read as >text<."""
    return re.sub(r"\s*(<|>)\s*", r"\1", html)


def bulk_cases(n: int, *, region, category, channel, departments, by, start=dt.datetime(2025, 1, 2, 9, tzinfo=TZ)):
    """n cases of one region in a mix of states, each with its hashed creation entry —
    written in bulk (the services take ~10 ms a case; this takes a fraction of a second)."""
    enterprise = Enterprise.objects.get_or_create(
        credit_code="914115683BJ1XG612H", defaults={"name": "信阳批量测试企业有限公司"}
    )[0]
    states = [State.RECEIVED, State.ASSIGNED, State.RESOLVED, State.EXPLAINED]
    first = (
        Case.objects.filter(region=region, year=start.year).order_by("-serial").values_list("serial", flat=True).first()
        or 0
    ) + 1
    cases = []
    for i in range(n):
        serial = first + i
        received_at = start + dt.timedelta(hours=i)
        state = states[i % 4]
        routed = state != State.RECEIVED
        cases.append(
            Case(
                region=region,
                year=start.year,
                serial=serial,
                number=f"{region.code}-{start.year}-{serial:05d}",
                enterprise=enterprise,
                category=category,
                channel=channel,
                description=f"第{i}号问题：企业反映用工、融资等困难",
                received_at=received_at,
                state=state,
                department=departments[(i // 4) % len(departments)] if routed else None,
                assigned_at=received_at + dt.timedelta(hours=1) if routed else None,
                due_date=(received_at + dt.timedelta(days=7)).date(),
                closed_at=received_at + dt.timedelta(days=3 + i % 8)
                if state in (State.RESOLVED, State.EXPLAINED)
                else None,
                result="已协调解决" if state in (State.RESOLVED, State.EXPLAINED) else "",
                created_by=by,
                created_at=received_at,
            )
        )
    cases = Case.objects.bulk_create(cases, batch_size=500)
    entries = []
    for case in cases:
        entry = LedgerEntry(
            case=case,
            seq=1,
            action="create",
            to_state=State.RECEIVED,
            actor=by,
            actor_name=by.get_username(),
            occurred_at=case.received_at,
            recorded_at=case.received_at,
            source="import",
            due_date=case.due_date,
            payload={
                "enterprise": enterprise.name,
                "credit_code": enterprise.credit_code,
                "category": category.code,
                "channel": channel.code,
                "description": case.description,
                "received_at": case.received_at.isoformat(),
            },
            prev_hash=GENESIS_HASH,
        )
        entry.hash = entry.expected_hash(case.number)
        entries.append(entry)
    LedgerEntry.objects.bulk_create(entries, batch_size=500)
    CaseAssignment.objects.bulk_create(
        [CaseAssignment(case=c, department=c.department, assigned_at=c.assigned_at) for c in cases if c.department],
        batch_size=500,
    )
    DepartmentCase.objects.bulk_create(
        [
            DepartmentCase(
                case=c, department=c.department, received_at=c.received_at, category=c.category, state=c.state
            )
            for c in cases
            if c.department
        ],
        batch_size=500,
    )
    return cases


@pytest.fixture
def many(region_a, category, channel, dept_x, dept_y, county_a):
    def make(n):
        return bulk_cases(
            n, region=region_a, category=category, channel=channel, departments=[dept_x, dept_y], by=county_a
        )

    return make


@pytest.mark.parametrize("n", [100, 2000])
@pytest.mark.parametrize("who", ["county_a", "dept_x_user", "city_user"])
def test_list_page_query_count_does_not_grow_with_cases(
    client, request, many, category, django_assert_max_num_queries, n, who
):
    many(n)
    client.force_login(request.getfixturevalue(who))
    url = reverse("cases:ledger")
    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(url, {"sort": "-due_date", "page": 2, "category": category.pk, "state": "assigned"})
    assert response.status_code == 200
    table = response.context["table"]
    assert table.paginator.count > 0
    assert len(table.page.object_list) == min(50, table.paginator.count - 50 * (table.page.number - 1))


def test_list_shows_the_twelve_columns_in_chinese(client, county_a):
    client.force_login(county_a)
    body = compact(client.get(reverse("cases:ledger")).content.decode())
    for header in (
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
    ):
        assert f">{header}<" in body, header


def test_on_time_column_and_overdue_filter(client, make_case, county_a, dept_x, dept_x_user):
    with time_machine.travel(dt.datetime(2025, 3, 3, 9, 0, tzinfo=TZ), tick=False):
        on_time = services.assign(make_case(enterprise_name="按期企业"), by=county_a, department=dept_x)
        services.resolve(on_time, by=dept_x_user, result="已解决", evidence=[pdf_file()])
        overdue = services.assign(make_case(enterprise_name="逾期企业"), by=county_a, department=dept_x)
    with time_machine.travel(dt.datetime(2025, 3, 3, 9, 0, tzinfo=TZ) + dt.timedelta(days=10), tick=False):
        pending = make_case(enterprise_name="未到期企业")
        late = services.resolve(
            services.assign(
                make_case(received_at=timezone.now() - dt.timedelta(days=12), enterprise_name="迟办企业"),
                by=county_a,
                department=dept_x,
            ),
            by=dept_x_user,
            result="已解决",
            evidence=[pdf_file()],
        )
        client.force_login(county_a)
        body = compact(client.get(reverse("cases:ledger")).content.decode())
        rows = {
            case.number: body[body.index(case.number) :].split("</tr>")[0] for case in (on_time, overdue, late, pending)
        }
        assert ">是<" in rows[on_time.number] and "已解决" in rows[on_time.number]
        assert ">逾期<" in rows[overdue.number]
        assert ">否<" in rows[late.number]
        assert rows[pending.number].endswith(">—</td>")
        filtered = client.get(reverse("cases:ledger"), {"overdue": "yes"}).content.decode()
        assert overdue.number in filtered
        assert on_time.number not in filtered and late.number not in filtered and pending.number not in filtered
        not_overdue = client.get(reverse("cases:ledger"), {"overdue": "no"}).content.decode()
        assert overdue.number not in not_overdue and pending.number in not_overdue and late.number in not_overdue


def test_filters_by_state_department_category_and_dates(client, make_case, county_a, dept_x, dept_y):
    with time_machine.travel(dt.datetime(2025, 5, 6, 23, 30, tzinfo=TZ), tick=False):
        may6 = services.assign(make_case(), by=county_a, department=dept_x)
    with time_machine.travel(dt.datetime(2025, 5, 7, 0, 30, tzinfo=TZ), tick=False):
        may7 = services.assign(make_case(), by=county_a, department=dept_y)
        client.force_login(county_a)

        def numbers(**params):
            body = client.get(reverse("cases:ledger"), params).content.decode()
            return {n for n in (may6.number, may7.number) if n in body}

        # Date bounds are Beijing calendar days: 23:30 on 05-06 belongs to the 6th.
        assert numbers(received_from="2025-05-07") == {may7.number}
        assert numbers(received_to="2025-05-06") == {may6.number}
        assert numbers(department=dept_x.pk) == {may6.number}
        assert numbers(state="assigned") == {may6.number, may7.number}
        assert numbers(state="resolved") == set()
        assert numbers(q="00002") == {may7.number}
        # The first and last days a date can name bound nothing (not a 500).
        assert numbers(received_from="0001-01-01", received_to="9999-12-31") == {may6.number, may7.number}
        response = client.get(reverse("cases:ledger_export_csv"), {"received_to": "9999-12-31"})
        assert response.status_code == 200


def test_pagination_numbers_rows_across_pages(client, many, county_a):
    many(60)
    client.force_login(county_a)
    body = compact(client.get(reverse("cases:ledger"), {"page": 2}).content.decode())
    rows = body.split("<tbody>")[1].split("</tbody>")[0].split("</tr>")
    assert [re.search(r"<td[^>]*>(\d+)</td>", row).group(1) for row in rows[:2]] == ["51", "52"]
    assert len([row for row in rows if "<td" in row]) == 10
    assert "共 60 件" in body


def test_bad_filter_values_show_an_error_not_a_500(client, county_a):
    client.force_login(county_a)
    response = client.get(reverse("cases:ledger"), {"received_from": "上周", "state": "bogus", "page": "x"})
    assert response.status_code in (200, 404)
    if response.status_code == 200:
        assert "有效" in response.content.decode()
