"""The dashboard's work queues per role (desk): what each queue holds, the 退单 reason and the
suggested department preselected on the case page, extensions decided inline, the city's county
table, "view all" in the 台帐, and a query count that does not grow with the rows."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from cases import services
from cases.models import Case, ExtensionRequest
from cases.queues import Queue, in_queue
from tests.conftest import pdf_file

pytestmark = pytest.mark.django_db

TZ = dt.timezone(dt.timedelta(hours=8))


def section(body: str, key: str) -> str:
    start = body.index(f'id="queue-{key}"')
    return body[start : body.index("</section>", start)]


def dashboard(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


def test_county_office_queue(client, make_case, county_a, dept_x, dept_x_user):
    with time_machine.travel(dt.datetime(2025, 3, 3, 9, 0, tzinfo=TZ), tick=False):
        to_route = make_case(enterprise_name="待交办企业")
        returned = services.assign(make_case(enterprise_name="退单企业"), by=county_a, department=dept_x)
        services.return_case(returned, by=dept_x_user, reason="不属于本单位")
        late = services.assign(make_case(enterprise_name="逾期企业"), by=county_a, department=dept_x)
        closed = services.assign(make_case(enterprise_name="待回访企业"), by=county_a, department=dept_x)
        services.resolve(closed, by=dept_x_user, result="已解决", evidence=[pdf_file()])
    with time_machine.travel(dt.datetime(2025, 3, 7, 9, 0, tzinfo=TZ), tick=False):
        soon = services.assign(make_case(enterprise_name="临期企业"), by=county_a, department=dept_x)
    with time_machine.travel(dt.datetime(2025, 3, 12, 9, 0, tzinfo=TZ), tick=False):
        body = dashboard(client, county_a)
    assert to_route.number in section(body, "to_route") and returned.number not in section(body, "to_route")
    assert returned.number in section(body, "returned")
    assert late.number in section(body, "overdue") and soon.number not in section(body, "overdue")  # due 03-10
    assert "已逾期 2 天" in section(body, "overdue")
    assert soon.number in section(body, "due_soon")  # due 03-14, within 2 working days of 03-12
    assert late.number in section(body, "unacknowledged")
    assert closed.number in section(body, "follow_up")
    assert "登记新问题" in body


def test_each_queue_shows_its_count(client, make_case, county_a, dept_x, dept_x_user):
    for _ in range(3):
        make_case()
    services.return_case(services.assign(make_case(), by=county_a, department=dept_x), by=dept_x_user, reason="错派")
    body = dashboard(client, county_a)
    assert '<span class="count">3</span>' in section(body, "to_route")
    assert '<span class="count">1</span>' in section(body, "returned")
    assert '<span class="count">0</span>' in section(body, "extension")
    assert 'href="#queue-to_route"' in body  # the index of queues at the top, with their counts


# -- 退单: reason, suggestion, preselected on the case page ------------------------------------------


def test_returned_case_shows_reason_and_the_suggested_department(
    client, make_case, county_a, dept_x, dept_y, dept_x_user
):
    case = services.assign(make_case(), by=county_a, department=dept_x)
    services.return_case(case, by=dept_x_user, reason="属于社保业务，不属本局职责", suggested_department="人社局")
    row = section(dashboard(client, county_a), "returned")
    assert "属于社保业务，不属本局职责" in row and dept_x.name in row
    assert f"<strong>{dept_y.name}</strong>" in row  # "人社局" names 浉河区人社局
    link = f"{reverse('cases:detail', args=[case.pk])}?department={dept_y.pk}#action-assign"
    assert link in row


def test_a_vague_suggestion_preselects_nothing(client, make_case, county_a, dept_x, dept_y, dept_x_user):
    case = services.assign(make_case(), by=county_a, department=dept_x)
    services.return_case(case, by=dept_x_user, reason="错派", suggested_department="请转交相关职能部门")
    row = section(dashboard(client, county_a), "returned")
    assert "请转交相关职能部门" in row and "?department=" not in row
    assert f"{reverse('cases:detail', args=[case.pk])}#action-assign" in row


def test_case_page_preselects_the_department_from_the_query(client, make_case, county_a, dept_x, dept_y, dept_x_user):
    case = services.assign(make_case(), by=county_a, department=dept_x)
    services.return_case(case, by=dept_x_user, reason="错派", suggested_department="人社局")
    client.force_login(county_a)
    page = client.get(reverse("cases:detail", args=[case.pk]), {"department": dept_y.pk}).content.decode()
    form = page[page.index('id="action-assign"') :]
    form = form[: form.index("</details>")]
    assert form.startswith('id="action-assign" open')
    assert f'<option value="{dept_y.pk}" selected>' in form


@pytest.mark.parametrize("value", ["abc", "0", "-1", "99999999999999999999"])
def test_case_page_ignores_a_department_it_cannot_route_to(client, make_case, county_a, dept_z, value):
    case = make_case()
    client.force_login(county_a)
    for department in (value, str(dept_z.pk)):  # garbage, or another county's department
        response = client.get(reverse("cases:detail", args=[case.pk]), {"department": department})
        assert response.status_code == 200
        form = response.content.decode().split('id="action-assign"')[1].split("</details>")[0]
        assert re.search(r'<option value="\d+" selected>', form) is None


# -- 延期待审批: decided inline ------------------------------------------------------------------------


@pytest.fixture
def extension(make_case, county_a, dept_x, dept_x_user):
    with time_machine.travel(dt.datetime(2025, 3, 3, 9, 0, tzinfo=TZ), tick=False):
        case = services.assign(make_case(), by=county_a, department=dept_x)
        services.request_extension(case, by=dept_x_user, reason="需协调市级部门", days=5)
    case.refresh_from_db()
    return case, ExtensionRequest.objects.get(case=case)


def test_pending_extension_shows_the_due_date_if_approved(client, county_a, extension):
    case, request = extension
    with time_machine.travel(dt.datetime(2025, 3, 4, 9, 0, tzinfo=TZ), tick=False):
        row = section(dashboard(client, county_a), "extension")
    assert case.number in row and "需协调市级部门" in row and "5 个工作日" in row
    assert case.due_date.isoformat() == "2025-03-10"
    assert '<strong class="due-if-approved">2025-03-17</strong>' in row  # 5 working days after 03-10
    assert reverse("desk:decide_extension", args=[case.pk, "approve"]) in row
    assert reverse("desk:decide_extension", args=[case.pk, "reject"]) in row


def test_approve_from_the_dashboard_moves_the_due_date(client, county_a, extension):
    case, request = extension
    client.force_login(county_a)
    with time_machine.travel(dt.datetime(2025, 3, 4, 9, 0, tzinfo=TZ), tick=False):
        response = client.post(
            reverse("desk:decide_extension", args=[case.pk, "approve"]),
            {"request": request.pk, "note": "同意"},
            follow=True,
        )
    assert response.redirect_chain[-1][0] == reverse("home") + "#queue-extension"
    case.refresh_from_db()
    request.refresh_from_db()
    assert case.due_date == dt.date(2025, 3, 17) and request.status == "approved" and request.decision_note == "同意"
    body = response.content.decode()
    assert "2025-03-17" in body and case.number not in section(body, "extension")
    assert case.ledger_entries.last().action == "approve_extension"


def test_reject_from_the_dashboard_keeps_the_due_date(client, county_a, extension):
    case, request = extension
    client.force_login(county_a)
    with time_machine.travel(dt.datetime(2025, 3, 4, 9, 0, tzinfo=TZ), tick=False):
        response = client.post(reverse("desk:decide_extension", args=[case.pk, "reject"]), {"request": request.pk})
    assert response.status_code == 302
    request.refresh_from_db()
    case.refresh_from_db()
    assert request.status == "rejected" and case.due_date == dt.date(2025, 3, 10)


def test_deciding_a_request_someone_else_decided_is_a_conflict(client, county_a, dept_x_user, extension):
    case, first = extension
    with time_machine.travel(dt.datetime(2025, 3, 4, 9, 0, tzinfo=TZ), tick=False):
        services.reject_extension(case, by=county_a, note="")
        services.request_extension(case, by=dept_x_user, reason="再次申请", days=2)
        client.force_login(county_a)
        response = client.post(reverse("desk:decide_extension", args=[case.pk, "approve"]), {"request": first.pk})
    assert response.status_code == 409
    assert "已被他人处理" in response.content.decode() or "其他人" in response.content.decode()
    second = ExtensionRequest.objects.get(case=case, status="pending")  # the newer request is untouched
    assert second.reason == "再次申请"
    case.refresh_from_db()
    assert case.due_date == dt.date(2025, 3, 10)


def test_deciding_without_a_pending_request_is_a_conflict(client, county_a, extension):
    case, request = extension
    services.approve_extension(case, by=county_a)
    client.force_login(county_a)
    response = client.post(reverse("desk:decide_extension", args=[case.pk, "reject"]), {"request": request.pk})
    assert response.status_code == 409
    request.refresh_from_db()
    assert request.status == "approved"


def test_deciding_needs_the_request_it_decides(client, county_a, extension):
    case, _request = extension
    client.force_login(county_a)
    response = client.post(reverse("desk:decide_extension", args=[case.pk, "approve"]), {"request": "x"})
    assert response.status_code == 400
    assert ExtensionRequest.objects.get(case=case).status == "pending"


def test_only_the_office_of_the_region_decides(client, county_b, dept_x_user, extension):
    case, request = extension
    client.force_login(county_b)
    url = reverse("desk:decide_extension", args=[case.pk, "approve"])
    assert client.post(url, {"request": request.pk}).status_code == 404  # another county: not even seen
    client.force_login(dept_x_user)
    assert client.post(url, {"request": request.pk}).status_code == 403
    assert client.get(url).status_code == 405
    client.force_login(case.created_by)
    assert (
        client.post(reverse("desk:decide_extension", args=[case.pk, "maybe"]), {"request": request.pk}).status_code
        == 404
    )
    assert ExtensionRequest.objects.get(case=case).status == "pending"


# -- the department's desk ---------------------------------------------------------------------------


def test_department_queues(client, make_case, county_a, dept_x, dept_y, dept_x_user):
    with time_machine.travel(dt.datetime(2025, 3, 3, 9, 0, tzinfo=TZ), tick=False):
        new = services.assign(make_case(), by=county_a, department=dept_x)
        later = services.assign(make_case(), by=county_a, department=dept_x, complex=True)
        earlier = services.assign(make_case(), by=county_a, department=dept_x)
        other = services.assign(make_case(), by=county_a, department=dept_y)
        services.acknowledge(later, by=dept_x_user)
        services.acknowledge(earlier, by=dept_x_user)
        services.request_extension(earlier, by=dept_x_user, reason="需现场核查", days=3)
        services.approve_extension(earlier, by=county_a, note="同意")
    with time_machine.travel(dt.datetime(2025, 3, 5, 9, 0, tzinfo=TZ), tick=False):
        body = dashboard(client, dept_x_user)
    assert new.number in section(body, "to_acknowledge") and earlier.number not in section(body, "to_acknowledge")
    in_hand = section(body, "in_hand")
    assert new.number not in in_hand and other.number not in in_hand
    assert in_hand.index(earlier.number) < in_hand.index(later.number)  # by due date: 03-13 before the complex one
    results = section(body, "extension_results")
    assert earlier.number in results and "已批准" in results and "2025-03-13" in results


def test_department_sees_a_rejected_extension(client, county_a, dept_x_user, extension):
    case, _request = extension
    services.reject_extension(case, by=county_a, note="请按期办结")
    with time_machine.travel(dt.datetime(2025, 3, 5, 9, 0, tzinfo=TZ), tick=False):
        results = section(dashboard(client, dept_x_user), "extension_results")
    assert "已驳回" in results and "请按期办结" in results and "2025-03-10" in results


# -- the city's table ----------------------------------------------------------------------------------


def test_city_sees_the_counties_side_by_side(
    client, make_case, county_a, county_b, region_b, city_user, dept_x, dept_x_user
):
    make_case()
    make_case()
    services.return_case(services.assign(make_case(), by=county_a, department=dept_x), by=dept_x_user, reason="错派")
    make_case(by=county_b, region=region_b)
    body = dashboard(client, city_user)
    table = body[body.index('id="county-queues"') :]
    table = table[: table.index("</section>")]
    row_a = table[table.index('id="county-411502"') :].split("</tr>")[0]
    row_b = table[table.index('id="county-411503"') :].split("</tr>")[0]
    assert "浉河区" in row_a and "平桥区" in row_b
    ledger = reverse("cases:ledger")
    assert f'<a href="{ledger}?queue=to_route&amp;region={county_a.profile.region_id}">2</a>' in row_a
    assert f'<a href="{ledger}?queue=returned&amp;region={county_a.profile.region_id}">1</a>' in row_a
    assert f'<a href="{ledger}?queue=to_route&amp;region={region_b.pk}">1</a>' in row_b
    assert table.count('<tr id="county-') == 10  # the ten counties, even those with nothing waiting
    assert "<strong>3</strong>" in table  # to be routed, all counties together


def test_county_office_has_no_county_table(client, county_a):
    assert 'id="county-queues"' not in dashboard(client, county_a)


def test_assessor_dashboard_links_to_the_ledger(client, make_case, assessor):
    make_case()
    body = dashboard(client, assessor)
    assert reverse("cases:ledger") in body and "各状态案件数" in body


# -- "view all": the 台帐's queue filter ------------------------------------------------------------


def test_view_all_opens_the_ledger_with_the_queue(client, make_case, county_a, dept_x, dept_x_user):
    closed = []
    for _ in range(10):
        case = services.assign(make_case(), by=county_a, department=dept_x)
        closed.append(services.resolve(case, by=dept_x_user, result="已解决", evidence=[pdf_file()]))
    services.record_follow_up(closed[0], by=county_a, satisfaction="satisfied")
    queue = section(dashboard(client, county_a), "follow_up")
    assert '<span class="count">9</span>' in queue
    link = f"{reverse('cases:ledger')}?queue=follow_up"
    assert f'href="{link}" class="view-all"' in queue
    listed = client.get(link).content.decode()
    assert sum(case.number in listed for case in closed[1:]) == 9 and closed[0].number not in listed


@pytest.mark.parametrize("queue", list(Queue))
def test_every_queue_filters_the_ledger(client, county_a, queue):
    client.force_login(county_a)
    assert client.get(reverse("cases:ledger"), {"queue": queue.value}).status_code == 200


def test_an_unknown_queue_is_a_form_error_not_a_crash(client, county_a, make_case):
    make_case()
    client.force_login(county_a)
    response = client.get(reverse("cases:ledger"), {"queue": "nonsense"})
    assert response.status_code == 200 and "nonsense" in response.content.decode()


# -- bounded queries -----------------------------------------------------------------------------------


def _fill(make_case, county_a, dept_x, dept_x_user, n):
    """n cases in every office queue."""
    for _ in range(n):
        make_case()
        services.return_case(
            services.assign(make_case(), by=county_a, department=dept_x),
            by=dept_x_user,
            reason="错派",
            suggested_department="工信局",
        )
        case = services.assign(make_case(), by=county_a, department=dept_x)
        services.acknowledge(case, by=dept_x_user)
        services.request_extension(case, by=dept_x_user, reason="协调", days=2)
        done = services.assign(make_case(), by=county_a, department=dept_x)
        services.resolve(done, by=dept_x_user, result="已解决", evidence=[pdf_file()])


def _queries(client, user, django_assert_max_num_queries, budget):
    client.force_login(user)
    client.get(reverse("home"))  # warm the session and the calendar snapshot
    with django_assert_max_num_queries(budget) as captured:
        assert client.get(reverse("home")).status_code == 200
    return len(captured)


# Queries of one dashboard (the provisional score cached, as in production for ten minutes):
# session, user, profile, unread count, the calendar snapshot for "due soon" (≈5); per office
# queue its count and its first rows (7 × 2); the return entries and the departments they may
# name (2); the pending requests and the calendar for "if approved" (2); the awaited-year check;
# the readable regions and the assessment for the provisional score; the city's county table (2).
# A department has four sections. A few spare for the chrome's own queries.
BUDGETS = {"county_a": 28, "city_user": 31, "dept_x_user": 17}


@pytest.mark.parametrize("who", list(BUDGETS))
def test_dashboard_queries_do_not_grow_with_the_rows(
    request, client, make_case, county_a, dept_x, dept_x_user, django_assert_max_num_queries, settings, who
):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": who}}
    user = request.getfixturevalue(who)
    _fill(make_case, county_a, dept_x, dept_x_user, 1)
    few = _queries(client, user, django_assert_max_num_queries, BUDGETS[who])
    _fill(make_case, county_a, dept_x, dept_x_user, 4)
    many = _queries(client, user, django_assert_max_num_queries, BUDGETS[who])
    assert many == few


def test_queue_conditions_agree_with_the_section_counts(client, make_case, county_a, dept_x, dept_x_user):
    _fill(make_case, county_a, dept_x, dept_x_user, 2)
    body = dashboard(client, county_a)
    today = dt.date.today()
    scope = Case.objects.for_user(county_a)
    for queue, key in [
        (Queue.TO_ROUTE, "to_route"),
        (Queue.RETURNED, "returned"),
        (Queue.EXTENSION, "extension"),
        (Queue.FOLLOW_UP, "follow_up"),
        (Queue.TO_ACKNOWLEDGE, "unacknowledged"),
    ]:
        assert f'<span class="count">{in_queue(scope, queue, today).count()}</span>' in section(body, key)
    assert in_queue(scope, Queue.RETURNED, today).count() == 2


# -- which department a suggestion names -------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("浉河区人社局", "浉河区人社局"),  # exact
        ("人社局", "浉河区人社局"),  # the county's name left out
        (" 人社局。", "浉河区人社局"),  # spaces and punctuation do not count
        ("发展改革委", "浉河区发展改革委"),  # a county's and the city's: the county's own
        ("市发展改革委", "市发展改革委"),  # the city's, named as such
        ("局", None),  # too short to name anything
        ("请转交相关职能部门", None),
        ("", None),
        ("浉河区工信局", None),  # the returning department itself is never suggested back
    ],
)
def test_suggestion_names_a_department_only_when_unambiguous(region_a, city, text, expected):
    from cases.models import Department
    from cases.queues import suggested_department

    for name in ("浉河区人社局", "浉河区工信局", "浉河区发展改革委"):
        Department.objects.create(region=region_a, name=name)
    Department.objects.create(region=city, name="市发展改革委")
    returning = Department.objects.get(name="浉河区工信局")
    found = suggested_department(
        text, Department.objects.serving(region_a.pk).select_related("region"), region=region_a, exclude_id=returning.pk
    )
    assert (found.name if found else None) == expected
