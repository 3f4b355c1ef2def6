"""A department sees every case any of its routings names, through DepartmentCase (one row per
department and case, carrying the case's receipt), kept by every path that writes a routing."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import pkgutil
import re
from zoneinfo import ZoneInfo

import pytest
from django.core.paginator import EmptyPage
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.models import OPEN_STATES, Case, CaseAssignment, Category, DepartmentCase, local_midnight

from ..conftest import pdf_file

SHANGHAI = ZoneInfo("Asia/Shanghai")

pytestmark = pytest.mark.django_db


def _rows_match_routings():
    """DepartmentCase is exactly the distinct (department, case) of the routings, with the case's
    received_at, category and state."""
    routed = set(CaseAssignment.objects.values_list("department_id", "case_id"))
    kept = list(
        DepartmentCase.objects.values_list("department_id", "case_id", "received_at", "open", "category_id", "state")
    )
    satisfaction = dict(Case.objects.values_list("pk", "satisfaction"))
    assert all(  # the case's satisfaction (the follow-up queue)
        answer == satisfaction[c] for c, answer in DepartmentCase.objects.values_list("case_id", "satisfaction")
    )
    received = dict(Case.objects.values_list("pk", "received_at"))
    categories = dict(Case.objects.values_list("pk", "category_id"))
    states = dict(Case.objects.values_list("pk", "state"))
    assert len(kept) == len({(d, c) for d, c, *_rest in kept})  # once per department and case
    assert {(d, c) for d, c, *_rest in kept} == routed
    assert all(at == received[c] for _d, c, at, *_rest in kept)
    assert all(category == categories[c] for _d, c, _r, _o, category, _s in kept)
    assert all(is_open == (states[c] in OPEN_STATES) for _d, c, _r, is_open, *_rest in kept)  # open as the case is
    assert all(state == states[c] for _d, c, *_rest, state in kept)  # in the case's state


def test_every_routing_path_keeps_the_department_row(
    make_case, county_a, dept_x, dept_y, dept_x_user, dept_y_user, city_user
):
    received = dt.datetime(2025, 3, 4, 9, 30, tzinfo=dt.UTC)
    case = make_case(received_at=received)
    assert not Case.objects.for_user(dept_x_user).exists() and not DepartmentCase.objects.exists()

    services.assign(case, by=county_a, department=dept_x)
    assert list(Case.objects.for_user(dept_x_user)) == [case]
    assert not Case.objects.for_user(dept_y_user).exists()
    _rows_match_routings()

    services.return_case(case, by=dept_x_user, reason="非本单位职责")  # returned: x still sees it
    services.assign(case, by=county_a, department=dept_y)
    services.reassign(case, by=county_a, department=dept_x)  # x a second time: still one row
    assert CaseAssignment.objects.filter(case=case, department=dept_x).count() == 2
    assert list(Case.objects.for_user(dept_x_user)) == list(Case.objects.for_user(dept_y_user)) == [case]
    _rows_match_routings()

    services.resolve(case, by=dept_x_user, result="已解决", evidence=[pdf_file()])
    _rows_match_routings()  # closed: both departments' rows say so
    services.reopen(case, by=county_a, reason="企业不满意")  # a third routing to x
    assert Case.objects.for_user(dept_x_user).count() == 1
    _rows_match_routings()
    assert DepartmentCase.objects.get(case=case, department=dept_x).received_at == received
    # The city office is not limited by the rows; a department's list counts each case once.
    assert list(Case.objects.for_user(city_user)) == [case]


def test_the_department_list_is_the_routed_cases_newest_first(client, make_case, county_a, dept_x, dept_y, dept_x_user):
    base = dt.datetime(2025, 5, 1, 8, tzinfo=dt.UTC)
    mine = []
    for day in range(6):
        case = make_case(received_at=base + dt.timedelta(days=day))
        services.assign(case, by=county_a, department=dept_x if day % 2 == 0 else dept_y)
        if day % 2 == 0:
            mine.append(case)
    # One routed to y, returned, then to x: listed for x once, by its receipt.
    moved = make_case(received_at=base + dt.timedelta(days=10))
    services.assign(moved, by=county_a, department=dept_y)
    services.reassign(moved, by=county_a, department=dept_x)
    services.reassign(moved, by=county_a, department=dept_y)
    services.reassign(moved, by=county_a, department=dept_x)
    mine.append(moved)

    newest = sorted(mine, key=lambda c: c.received_at, reverse=True)
    assert list(Case.objects.for_user(dept_x_user).order_by("-received_at", "-id")) == newest
    assert list(Case.objects.for_user(dept_x_user).order_by("received_at", "id")) == newest[::-1]

    client.force_login(dept_x_user)
    page = client.get(reverse("cases:ledger"), {"sort": "received_at"})
    assert page.status_code == 200
    assert [row.record.pk for row in page.context["table"].page.object_list] == [c.pk for c in newest[::-1]]
    assert page.context["table"].paginator.count == len(mine)
    default = client.get(reverse("cases:ledger"))
    assert [row.record.pk for row in default.context["table"].page.object_list] == [c.pk for c in newest]
    # The join lists each case once: grouped counts are the cases' (a case routed to x twice).
    by_state = dict(
        Case.objects.for_user(dept_x_user).values("state").annotate(n=Count("id")).values_list("state", "n")
    )
    assert sum(by_state.values()) == len(mine)
    listed = client.get("/api/v1/cases/").json()
    assert [row["number"] for row in listed["results"]] == [c.number for c in newest]


def test_no_service_changes_a_receipt(make_case, county_a, dept_x, dept_x_user):
    """The row's received_at is a copy: it stays right because a case's receipt is set once, at
    intake. Every service that saves a case names the fields it writes; none names received_at."""
    from cases.services import _steps

    case = services.assign(make_case(), by=county_a, department=dept_x)
    before = Case.objects.get(pk=case.pk).received_at
    services.acknowledge(case, by=dept_x_user)
    services.request_extension(case, by=dept_x_user, days=5, reason="需协调")
    services.resolve(case, by=dept_x_user, result="已解决", evidence=[pdf_file()])
    services.record_follow_up(case, by=county_a, satisfaction=Case.Satisfaction.SATISFIED)
    assert Case.objects.get(pk=case.pk).received_at == before
    assert DepartmentCase.objects.get(case=case).received_at == before
    for module in pkgutil.iter_modules(services.__path__):
        source = inspect.getsource(importlib.import_module(f"cases.services.{module.name}"))
        assert not re.search(r"\.received_at\s*=[^=]", source), module.name
    assert "received_at" not in inspect.getsource(_steps)  # the fields a transition saves


def test_no_service_changes_a_category(make_case, county_a, dept_x, dept_x_user):
    """The row's category is a copy: it stays right because a case's category is set once, at
    intake (the services, the API and both imports create cases; nothing edits one: the admin is
    read-only). Every service that saves a case names the fields it writes; none names the
    category."""
    from cases.services import _steps

    case = services.assign(make_case(), by=county_a, department=dept_x)
    services.acknowledge(case, by=dept_x_user)
    services.return_case(case, by=dept_x_user, reason="非本单位职责")
    services.assign(case, by=county_a, department=dept_x)
    services.resolve(case, by=dept_x_user, result="已解决", evidence=[pdf_file()])
    services.reopen(case, by=county_a, reason="企业不满意")
    assert DepartmentCase.objects.get(case=case).category_id == Case.objects.get(pk=case.pk).category_id
    for module in pkgutil.iter_modules(services.__path__):
        source = inspect.getsource(importlib.import_module(f"cases.services.{module.name}"))
        assert not re.search(r"\.category(_id)?\s*=[^=]", source), module.name
    assert "category" not in inspect.getsource(_steps)  # the fields a transition saves


def test_a_departments_queues_read_its_open_rows_and_list_what_its_scope_holds(
    client, make_case, county_a, dept_x, dept_y, dept_x_user, dept_y_user
):
    """Every case the department ever had that is in the queue, wherever it is now (its open
    rows), and none that closed: the same as the queue over its whole scope."""
    from cases.queues import Queue, condition, in_queue

    mine = services.assign(make_case(), by=county_a, department=dept_x)
    acknowledged = services.acknowledge(services.assign(make_case(), by=county_a, department=dept_x), by=dept_x_user)
    elsewhere = services.assign(make_case(), by=county_a, department=dept_x)
    services.reassign(elsewhere, by=county_a, department=dept_y)  # x's row stays open: the case is
    returned = services.return_case(
        services.assign(make_case(), by=county_a, department=dept_x), by=dept_x_user, reason="错派"
    )
    closed = services.assign(make_case(), by=county_a, department=dept_x)
    services.resolve(closed, by=dept_x_user, result="已解决", evidence=[pdf_file()])
    reopened = services.assign(make_case(), by=county_a, department=dept_x)
    services.resolve(reopened, by=dept_x_user, result="已解决", evidence=[pdf_file()])
    services.reopen(reopened, by=county_a, reason="企业不满意")
    services.assign(make_case(), by=county_a, department=dept_y)  # never x's
    open_rows = set(DepartmentCase.objects.filter(department=dept_x, open=True).values_list("case_id", flat=True))
    assert open_rows == {mine.pk, acknowledged.pk, elsewhere.pk, returned.pk, reopened.pk}

    scope = Case.objects.for_user(dept_x_user)
    for today in (dt.date(2025, 1, 1), dt.date(2099, 1, 1)):  # none overdue, all overdue
        for queue in Queue:
            whole = set(scope.filter(condition(queue, today)).values_list("pk", flat=True))
            assert set(in_queue(scope, queue, today).values_list("pk", flat=True)) == whole, queue
    assert set(scope.overdue(dt.date(2099, 1, 1)).values_list("pk", flat=True)) == open_rows
    assert set(in_queue(scope, Queue.TO_ACKNOWLEDGE, None).values_list("pk", flat=True)) == {
        mine.pk,
        elsewhere.pk,
        reopened.pk,
    }
    assert set(in_queue(scope, Queue.RETURNED, None).values_list("pk", flat=True)) == {returned.pk}
    client.force_login(dept_x_user)
    page = client.get(reverse("cases:ledger"), {"queue": Queue.IN_HAND.value})
    assert [row.record.pk for row in page.context["table"].page.object_list] == [acknowledged.pk]
    for state in ("received", "assigned", "resolved"):  # the state filter: open states through the open rows
        page = client.get(reverse("cases:ledger"), {"state": state})
        listed = {row.record.pk for row in page.context["table"].page.object_list}
        assert listed == set(scope.filter(state=state).values_list("pk", flat=True)), state
    # Another user's scope (not a department's) is not narrowed.
    assert Case.objects.for_user(county_a).open_rows_only().count() == Case.objects.count()


def test_a_departments_queue_asks_for_its_open_rows(make_case, county_a, dept_x, dept_x_user):
    """The queue's SQL reads the department's open rows (department_case_open_idx at scale: the
    page benchmark's plans), and counts what the whole scope holds."""
    from cases.queues import Queue, in_queue

    for n in range(12):
        case = services.assign(make_case(), by=county_a, department=dept_x)
        if n % 3:
            services.resolve(case, by=dept_x_user, result="已解决", evidence=[pdf_file()])
    scope = Case.objects.for_user(dept_x_user)
    queue = in_queue(scope, Queue.TO_ACKNOWLEDGE, dt.date(2025, 1, 1))
    sql = str(queue.query)
    assert "cases_departmentcase" in sql and '"open"' in sql
    assert queue.count() == 4 == scope.filter(state="assigned", acknowledged_at__isnull=True).count()


def test_the_open_rows_are_asked_for_once_however_many_filters_want_them(make_case, county_a, dept_x, dept_x_user):
    """State, overdue and a queue each narrow a department's scope to its open rows: one subquery."""
    from cases.queues import Queue, in_queue

    late = services.assign(make_case(), by=county_a, department=dept_x, due_date=dt.date(2026, 1, 5))
    services.assign(make_case(), by=county_a, department=dept_x)
    scope = Case.objects.for_user(dept_x_user)
    today = dt.date(2026, 11, 30)
    combined = in_queue(scope.open_rows_only().filter(state="assigned").overdue(today), Queue.OVERDUE, today)
    assert str(combined.query).count('"open"') == 1
    assert list(combined.values_list("pk", flat=True)) == [late.pk]


def test_a_departments_whole_scope_is_counted_in_its_rows(client, make_case, county_a, dept_x, dept_y, dept_x_user):
    """The 台帐's count of a department's whole scope (unfiltered, sorted, paged) reads its
    DepartmentCase rows; any other condition counts the cases. Both are the cases' number."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cases.paginators import capped_count

    for n in range(5):
        case = services.assign(make_case(), by=county_a, department=dept_x)
        if n == 0:
            services.reassign(case, by=county_a, department=dept_y)
            services.reassign(case, by=county_a, department=dept_x)  # two routings to x: one row
    services.assign(make_case(), by=county_a, department=dept_y)
    scope = Case.objects.for_user(dept_x_user)
    assert scope.count_up_to(100) == 5 and capped_count(scope.order_by("due_date"), 100) == 5
    assert scope.count_up_to(3) == 3  # capped as the paginator asks
    with CaptureQueriesContext(connection) as captured:
        capped_count(scope, 100)
    assert "cases_case" not in captured.captured_queries[0]["sql"].split("FROM", 1)[1]
    filtered = scope.exclude(pk=case.pk)
    assert filtered.count_up_to(100) is None and capped_count(filtered, 100) == 4
    assert Case.objects.for_user(county_a).count_up_to(100) is None
    client.force_login(dept_x_user)
    page = client.get(reverse("cases:ledger"), {"sort": "due_date"})
    assert page.context["table"].paginator.count == 5


def test_a_departments_scope_bounded_by_receipt_is_counted_in_its_rows(
    make_case, county_a, dept_x, dept_y, dept_x_user
):
    """Received from / to a day (the 台帐's date filters) on a department's scope: its rows carry
    each case's receipt, so the count reads them alone — the same number the cases give, for every
    bound; any other condition beside them counts the cases."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cases.paginators import capped_count

    days = [dt.date(2026, 1, 5) + dt.timedelta(days=7 * n) for n in range(6)]
    for n, day in enumerate(days):
        moment = dt.datetime.combine(day, dt.time(23, 30) if n % 2 else dt.time(0, 10), tzinfo=SHANGHAI)
        case = make_case(received_at=moment)
        services.assign(case, by=county_a, department=dept_x if n < 5 else dept_y)
    scope = Case.objects.for_user(dept_x_user)
    for first, last in [(days[1], None), (None, days[2]), (days[1], days[3]), (days[4], days[4]), (days[5], None)]:
        bounded = scope
        if first:
            bounded = bounded.received_from(first)
        if last:
            bounded = bounded.received_to(last)
        exact = bounded.count()
        assert bounded.count_up_to(100) == exact, (first, last)
        assert capped_count(bounded.order_by("due_date"), 100) == exact
        with CaptureQueriesContext(connection) as captured:
            capped_count(bounded, 100)
        assert "cases_case" not in captured.captured_queries[0]["sql"].split("FROM", 1)[1]
    assert scope.received_to(days[3]).count_up_to(2) == 2  # capped as the paginator asks
    assert scope.received_to(days[3]).filter(supervised=False).count_up_to(100) is None
    assert Case.objects.for_user(county_a).received_to(days[3]).count_up_to(100) is None


def test_a_departments_pages_read_their_ids_first_in_the_lists_order(
    client, make_case, county_a, dept_x, dept_y, dept_x_user, django_assert_max_num_queries
):
    """A department's 台帐 page reads the page's ids, then those rows (cases.paginators): the same
    rows in the same order as the list itself, on every page, in a bounded number of queries."""
    from cases.paginators import CappedPaginator

    base = dt.datetime(2025, 5, 1, 8, tzinfo=dt.UTC)
    for day in range(7):
        case = services.assign(make_case(received_at=base + dt.timedelta(days=day)), by=county_a, department=dept_x)
        services.resolve(case, by=dept_x_user, result="已解决", evidence=[pdf_file()])
    services.assign(make_case(), by=county_a, department=dept_y)
    scope = Case.objects.for_user(dept_x_user)
    for order in (("closed_at", "id"), ("due_date", "id"), ("-received_at", "-id")):
        listed = list(scope.order_by(*order))
        paginator = CappedPaginator(scope.order_by(*order), 3)
        paged = [case for number in (1, 2, 3) for case in paginator.page(number).object_list]
        assert paged == listed, order
    client.force_login(dept_x_user)
    with django_assert_max_num_queries(13):
        page = client.get(reverse("cases:ledger"), {"queue": "follow_up"})
    closed = sorted(scope, key=lambda c: (c.closed_at, c.pk))
    assert [row.record.pk for row in page.context["table"].page.object_list] == [c.pk for c in closed]


def _rows_alone(sql: str) -> bool:
    """Whether a query reads a department's rows without the cases table."""
    return "cases_departmentcase" in sql and "cases_case" not in sql.replace("cases_departmentcase", "")


def _answered_by_the_rows(ordered, listed: list[int], label, *, reads=None) -> None:
    """The capped counts, a slice of ids and every page of a lazy paginator (past a cap of 3, as
    past 10,000) equal ``listed`` (the plain query's ids), read from the department's rows alone
    (``reads``: what each query's SQL must satisfy, ``_rows_alone`` unless given)."""
    reads = reads or _rows_alone
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cases.paginators import CappedPaginator, capped_count

    with CaptureQueriesContext(connection) as captured:
        assert ordered.count_up_to(100) == len(listed)
        assert ordered.count_up_to(2) == min(2, len(listed))
        assert ordered.ids_between(0, 100) == listed
        assert ordered.ids_between(1, 3) == listed[1:3]
        assert capped_count(ordered, 100) == len(listed)
    assert all(reads(query["sql"]) for query in captured.captured_queries), captured
    paginator = CappedPaginator(ordered, 2, cap=3)
    paged = []
    for number in range(1, 10):
        try:
            paged += paginator.page(number).object_list
        except EmptyPage:
            break
    assert [c.pk for c in paged] == listed, label


@pytest.fixture
def two_categories(make_case, county_a, dept_x, dept_y, category):
    """Fourteen cases of two categories, three to a receipt moment (the id orders those, in the
    rows as in the cases): x's, x's then moved to y (x still sees them), and y's alone."""
    other = Category.objects.exclude(pk=category.pk).order_by("pk").first()
    base = dt.datetime(2026, 1, 5, 1, tzinfo=dt.UTC)
    for n in range(14):
        case = make_case(received_at=base + dt.timedelta(days=n // 3), category=category if n % 3 else other)
        services.assign(case, by=county_a, department=dept_y if n % 5 == 4 else dept_x)
        if n % 4 == 0 and n % 5 != 4:
            services.reassign(case, by=county_a, department=dept_y)
    return category, other, [(base + dt.timedelta(days=d)).astimezone(SHANGHAI).date() for d in range(5)]


def test_a_departments_category_is_counted_and_paged_in_its_rows(two_categories, dept_x_user):
    """The 台帐's category filter on a department's scope, alone or with received from / to: the
    count and every page's ids read its rows alone (which carry each case's category and
    receipt), and are the cases' own — the same cases in the same order as the plain query, in
    either order of receipt; any other condition beside them reads the cases."""

    category, other, days = two_categories
    scope = Case.objects.for_user(dept_x_user)
    for chosen in (category, other):
        for first, last in [(None, None), (days[1], None), (None, days[2]), (days[1], days[3]), (days[4], days[4])]:
            bounded = scope.filter(category=chosen)  # as the filter writes it
            bounded = bounded.received_from(first) if first else bounded
            bounded = bounded.received_to(last) if last else bounded
            for order in (("-received_at", "-id"), ("received_at", "id")):
                listed = list(bounded.order_by(*order).values_list("pk", flat=True))
                expected = sorted(
                    (c for c in scope if c.category_id == chosen.pk),
                    key=lambda c: (c.received_at, c.pk),
                    reverse=order[0].startswith("-"),
                )
                assert listed == [
                    c.pk
                    for c in expected
                    if (not first or c.received_at >= local_midnight(first))
                    and (not last or c.received_at < local_midnight(last + dt.timedelta(days=1)))
                ]
                _answered_by_the_rows(bounded.order_by(*order), listed, (chosen, first, last, order))
    assert list(scope.filter(category=category).values_list("pk", flat=True))  # the cases exist
    assert scope.filter(category=category, supervised=False).count_up_to(100) is None
    assert scope.filter(category=category).order_by("due_date", "id").ids_between(0, 10) is None
    assert Case.objects.filter(category=category).count_up_to(100) is None  # not a department's scope


def test_the_ledger_filtered_by_category_lists_the_cases_query(client, two_categories, dept_x_user):
    """Through the page: the department's category list is the plain query's, counted the same."""
    category, other, _days = two_categories
    scope = Case.objects.for_user(dept_x_user)
    client.force_login(dept_x_user)
    for chosen in (category, other):
        plain = list(scope.filter(category=chosen).order_by("-received_at", "-id").values_list("pk", flat=True))
        page = client.get(reverse("cases:ledger"), {"category": chosen.pk, "per_page": 3})
        table = page.context["table"]
        assert table.paginator.count == len(plain)
        assert [row.record.pk for row in table.page.object_list] == plain[:3]
        second = client.get(reverse("cases:ledger"), {"category": chosen.pk, "per_page": 3, "page": 2})
        assert [row.record.pk for row in second.context["table"].page.object_list] == plain[3:6]


def test_a_page_past_the_end_of_a_departments_capped_list_reads_its_rows_alone(
    client, monkeypatch, two_categories, dept_x_user, django_assert_max_num_queries
):
    """``?page=300`` on a department's list past the count's cap: the page is empty, so the
    paginator falls back to the last page it knows (django-tables2's RequestConfig), as before;
    every query that skips entries (OFFSET) reads the department's rows alone, never the cases."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    category, _other, _days = two_categories
    monkeypatch.setattr("cases.paginators.CAP", 4)  # past the cap at 5 cases, as past 10,000
    scope = Case.objects.for_user(dept_x_user)
    client.force_login(dept_x_user)
    for query, listed in [
        ({}, scope.order_by("-received_at", "-id")),
        ({"category": category.pk}, scope.filter(category=category).order_by("-received_at", "-id")),
    ]:
        plain = list(listed.values_list("pk", flat=True))
        assert len(plain) > 5
        with CaptureQueriesContext(connection) as captured, django_assert_max_num_queries(12):
            page = client.get(reverse("cases:ledger"), {**query, "page": 300, "per_page": 2})
        table = page.context["table"]
        # Counted up to 5 (capped): 3 pages known; page 300 is empty, so page 3 is shown.
        assert table.paginator.count_capped and table.page.number == 3
        assert [row.record.pk for row in table.page.object_list] == plain[4:6], query
        skipping = [q["sql"] for q in captured.captured_queries if "OFFSET" in q["sql"]]
        assert len(skipping) == 2 and all(_rows_alone(sql) for sql in skipping), skipping


def test_only_the_listed_cases_own_fields_are_read_from_its_rows(two_categories, dept_x_user, region_a):
    """A condition on another case reached through a join (the region's cases, the enterprise's)
    is not the listed case's: the rows alone cannot answer it; nor a grouped query."""
    category, _other, days = two_categories
    scope = Case.objects.for_user(dept_x_user)
    assert scope.filter(region__cases__category=category).count_up_to(100) is None
    assert scope.filter(enterprise__cases__received_at__gte=local_midnight(days[1])).count_up_to(100) is None
    assert scope.values("state").annotate(n=Count("id")).count_up_to(100) is None
    assert scope.filter(category=category).count_up_to(100) == scope.filter(category=category).count()


def test_every_transition_keeps_the_rows_state(make_case, county_a, dept_x, dept_y, dept_x_user, dept_y_user):
    """The rows' state is the case's after every transition (a case's state is a django-fsm field
    only a transition changes: protected, saved by services._steps.Act.transition), for every
    department that sees the case, the current one or not."""
    assert Case._meta.get_field("state").protected
    case = services.assign(make_case(), by=county_a, department=dept_x)
    _rows_match_routings()
    for step in (
        lambda c: services.acknowledge(c, by=dept_x_user),
        lambda c: services.return_case(c, by=dept_x_user, reason="非本单位职责"),
        lambda c: services.assign(c, by=county_a, department=dept_y),
        lambda c: services.reassign(c, by=county_a, department=dept_x),
        lambda c: services.resolve(c, by=dept_x_user, result="已解决", evidence=[pdf_file()]),
        lambda c: services.reopen(c, by=county_a, reason="企业不满意"),
        lambda c: services.reassign(c, by=county_a, department=dept_y),
        lambda c: services.acknowledge(c, by=dept_y_user),
        lambda c: services.explain(
            c,
            by=dept_y_user,
            result="不属政策范围",
            policy_basis="某文件",
            redirect_to="县市场监管局",
            evidence=[pdf_file()],
        ),
    ):
        case = step(case)
        _rows_match_routings()
    assert set(DepartmentCase.objects.filter(case=case).values_list("department_id", "state")) == {
        (dept_x.pk, "explained"),
        (dept_y.pk, "explained"),
    }


@pytest.fixture
def mixed_states(two_categories, dept_x, dept_x_user, dept_y_user, county_a):
    """The fourteen cases of ``two_categories`` in every state: some acknowledged, resolved,
    explained, returned, a resolved one reopened."""
    cases = list(Case.objects.order_by("pk"))
    for n, case in enumerate(cases):
        user = dept_x_user if case.department_id == dept_x.pk else dept_y_user
        if n % 6 == 1:
            services.resolve(case, by=user, result="已解决", evidence=[pdf_file()])
        elif n % 6 == 2:
            services.explain(
                case,
                by=user,
                result="不属政策范围",
                policy_basis="某文件",
                redirect_to="县市场监管局",
                evidence=[pdf_file()],
            )
        elif n % 6 == 3:
            services.return_case(case, by=user, reason="非本单位职责")
        elif n % 6 == 4:
            services.acknowledge(case, by=user)
        elif n % 6 == 5:
            services.resolve(case, by=user, result="已解决", evidence=[pdf_file()])
            services.reopen(case, by=county_a, reason="企业不满意")
    _rows_match_routings()
    return two_categories


def test_a_departments_state_is_counted_and_paged_in_its_rows(mixed_states, dept_x_user):
    """The state filter on a department's scope (the 台帐's and the API's), alone or with the
    category and received from / to: the count and every page's ids read its rows alone (which
    carry each case's state), and are the plain query's — the same cases in the same order, in
    either order of receipt."""

    from cases.models import State

    category, _other, days = mixed_states
    scope = Case.objects.for_user(dept_x_user)
    assert {c.state for c in scope} == set(State.values)  # every state is in the department's list
    for state in State.values:
        for chosen in (None, category):
            for first, last in [(None, None), (days[1], None), (None, days[2]), (days[1], days[3])]:
                bounded = scope.filter(state=state)  # as both filters write it
                bounded = bounded.filter(category=chosen) if chosen else bounded
                bounded = bounded.received_from(first) if first else bounded
                bounded = bounded.received_to(last) if last else bounded
                for order in (("-received_at", "-id"), ("received_at", "id")):
                    ordered = bounded.order_by(*order)
                    expected = sorted(
                        (
                            c
                            for c in scope
                            if c.state == state
                            and (not chosen or c.category_id == chosen.pk)
                            and (not first or c.received_at >= local_midnight(first))
                            and (not last or c.received_at < local_midnight(last + dt.timedelta(days=1)))
                        ),
                        key=lambda c: (c.received_at, c.pk),
                        reverse=order[0].startswith("-"),
                    )
                    listed = list(ordered.values_list("pk", flat=True))
                    assert listed == [c.pk for c in expected]
                    _answered_by_the_rows(ordered, listed, (state, chosen, first, last, order))
    assert scope.filter(state="resolved", supervised=False).count_up_to(100) is None
    assert scope.filter(state__in=["resolved", "explained"]).count_up_to(100) == len(
        [c for c in scope if c.state in ("resolved", "explained")]
    )
    assert scope.filter(state__in=scope.values("state")).count_up_to(100) is None  # a subquery: not copied
    assert scope.filter(region__cases__state="resolved").count_up_to(100) is None  # another case's
    assert Case.objects.filter(state="resolved").count_up_to(100) is None  # not a department's scope


def test_a_departments_follow_up_queue_is_counted_in_its_rows(client, mixed_states, dept_x, dept_x_user, county_a):
    """The follow-up queue (closed, not yet followed up) of a department: counted in its rows,
    which carry each case's satisfaction — kept by the follow-up and by a reopening, which clears
    it — and the same cases in the same order as the queue's condition over the cases."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cases.queues import Queue, condition, in_queue

    scope = Case.objects.for_user(dept_x_user)
    closed = [c for c in scope.order_by("pk") if c.state in ("resolved", "explained")]
    assert len(closed) >= 3
    services.record_follow_up(closed[0], by=county_a, satisfaction="satisfied")
    services.record_follow_up(closed[1], by=county_a, satisfaction="dissatisfied")
    services.reopen(closed[1], by=county_a, reason="企业不满意")  # followed up, reopened: not followed up
    _rows_match_routings()
    assert DepartmentCase.objects.get(case=closed[1], department=dept_x).satisfaction == ""

    today = dt.date(2025, 6, 1)
    queue = in_queue(scope, Queue.FOLLOW_UP, today)
    plain = list(
        scope.filter(condition(Queue.FOLLOW_UP, today)).order_by("closed_at", "id").values_list("pk", flat=True)
    )
    assert closed[0].pk not in plain and closed[1].pk not in plain and closed[2].pk in plain
    assert list(queue.values_list("pk", flat=True)) == plain
    with CaptureQueriesContext(connection) as captured:
        assert queue.count_up_to(100) == len(plain)
        assert queue.count_up_to(1) == 1
    assert all(_rows_alone(query["sql"]) for query in captured.captured_queries)
    assert all("satisfaction" in query["sql"] for query in captured.captured_queries)

    client.force_login(dept_x_user)
    with CaptureQueriesContext(connection) as captured:
        page = client.get(reverse("cases:ledger"), {"queue": Queue.FOLLOW_UP.value, "per_page": 100})
    table = page.context["table"]
    assert table.paginator.count == len(plain)
    assert [row.record.pk for row in table.page.object_list] == plain
    counting = [
        q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper() and "satisfaction" in q["sql"]
    ]
    assert counting and all(_rows_alone(sql) for sql in counting), counting


def test_the_ledger_and_the_api_filtered_by_state_list_the_cases_query(client, mixed_states, dept_x_user):
    """Through the 台帐 and the API: the department's list of a closed state is the plain query's,
    counted the same, its count and ids read from the rows alone."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    scope = Case.objects.for_user(dept_x_user)
    client.force_login(dept_x_user)
    for state in ("resolved", "explained"):
        plain = list(scope.filter(state=state).order_by("-received_at", "-id").values_list("pk", flat=True))
        assert plain
        with CaptureQueriesContext(connection) as captured:
            page = client.get(reverse("cases:ledger"), {"state": state, "per_page": 1})
        table = page.context["table"]
        assert table.paginator.count == len(plain)
        assert [row.record.pk for row in table.page.object_list] == plain[:1]
        sqls = [q["sql"] for q in captured.captured_queries]
        counting = [sql for sql in sqls if "COUNT(" in sql.upper() and "cases_" in sql]  # not the unread bell's
        assert counting and all(_rows_alone(sql) for sql in counting), counting
        listed = client.get("/api/v1/cases/", {"state": state}).json()
        numbers = dict(Case.objects.values_list("pk", "number"))
        assert [row["number"] for row in listed["results"]] == [numbers[pk] for pk in plain]
        assert listed["count"] == len(plain)


def _rows_first(sql: str) -> bool:
    """Whether a query reads a department's rows, the cases only for its open rows (the subquery
    of those past due): nothing of the cases outside ``IN (SELECT``."""
    outer, _sep, inner = sql.partition("IN (SELECT")
    return _rows_alone(outer) and "cases_departmentcase" in outer and 'U0."open"' in inner


def test_a_departments_cases_not_overdue_are_counted_and_paged_in_its_rows(client, mixed_states, dept_x, dept_x_user):
    """The overdue=no filter (the 台帐's and the API's) on a department's scope: its cases but its
    open ones past due, on every day around the due dates (and a case without one): the same
    cases in the same order as the plain exclusion, counted and paged from the rows, the cases
    read only for the department's open rows; with the state, the category or receipt bounds."""

    category, _other, days = mixed_states
    scope = Case.objects.for_user(dept_x_user)
    undated = scope.filter(state="assigned").order_by("pk").first()
    Case.objects.filter(pk=undated.pk).update(due_date=None)  # an open case without a due date
    dues = sorted({c.due_date for c in scope if c.due_date})
    assert len(dues) > 1 and any(c.state in OPEN_STATES for c in scope)
    for on in [dues[0] - dt.timedelta(days=1), *dues, dues[-1] + dt.timedelta(days=1)]:
        for narrowed in (
            scope,
            scope.filter(state="assigned"),
            scope.filter(category=category),
            scope.received_from(days[1]).received_to(days[3]),
        ):
            for order in (("-received_at", "-id"), ("received_at", "id")):
                ordered = narrowed.not_overdue(on).order_by(*order)
                plain = narrowed.exclude(state__in=OPEN_STATES, due_date__lt=on).order_by(*order)
                listed = list(plain.values_list("pk", flat=True))
                assert list(ordered.values_list("pk", flat=True)) == listed
                expected = [c.pk for c in plain if not (c.state in OPEN_STATES and c.due_date and c.due_date < on)]
                assert expected == listed
                assert undated.pk in listed or narrowed is not scope
                _answered_by_the_rows(ordered, listed, (on, order), reads=_rows_first)
    # Any other scope as before; another department's exclusion is not this one's rows.
    assert Case.objects.not_overdue(dues[-1]).count_up_to(100) is None
    other = Case.objects.filter(department_rows__department_id=dept_x.pk + 1000)
    assert scope.filter(pk__in=other.values("pk")).count_up_to(100) is None
    # Through the 台帐 and the API (today: every open case past due but the undated one).
    client.force_login(dept_x_user)
    today = timezone.localdate()
    plain = list(
        scope.exclude(state__in=OPEN_STATES, due_date__lt=today)
        .order_by("-received_at", "-id")
        .values_list("pk", flat=True)
    )
    assert undated.pk in plain and len(plain) < scope.count()
    page = client.get(reverse("cases:ledger"), {"overdue": "no", "per_page": 100})
    assert page.context["table"].paginator.count == len(plain)
    assert [row.record.pk for row in page.context["table"].page.object_list] == plain
    listed = client.get("/api/v1/cases/", {"overdue": "false"}).json()
    numbers = dict(Case.objects.values_list("pk", "number"))
    assert listed["count"] == len(plain)
    assert [row["number"] for row in listed["results"]] == [numbers[pk] for pk in plain]


def test_a_join_across_a_relation_is_counted_by_the_cases_not_the_rows(mixed_states, dept_x_user):
    """An annotation across a one-to-many relation repeats cases in the plain query: the rows (one
    a case) cannot say how many, so they are not asked."""
    from django.db.models import F

    category, _other, _days = mixed_states
    scope = Case.objects.for_user(dept_x_user)
    for joined in (scope.annotate(a=F("assignments__id")), scope.alias(a=F("assignments__id"))):
        ordered = joined.filter(category=category).order_by("-received_at", "-id")
        assert ordered.department_rows() is None and ordered.count_up_to(100) is None
        assert ordered.ids_between(0, 100) is None
    assert scope.filter(category=category).department_rows() is not None  # the scope's own join alone
