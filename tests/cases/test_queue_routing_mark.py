"""The to-route and returned queues read "routed before" from the case's own first_assigned_at:
set exactly when the case has a routing (CaseAssignment), by every path that routes, so the
queues are what they were when they asked the routings; and their pages and counts are ranges of
their partial indexes on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db.models import Exists, OuterRef
from django.urls import reverse

from cases import services
from cases.models import Case, CaseAssignment, State
from cases.queues import Queue, in_queue
from desk import dashboard as desk_dashboard

from ..conftest import pdf_file

pytestmark = pytest.mark.django_db


def _by_routings(queue: str) -> set[int]:
    """The queue as the routings say it (its definition before first_assigned_at served it)."""
    routed = Exists(CaseAssignment.objects.filter(case=OuterRef("pk")))
    received = Case.objects.filter(state=State.RECEIVED)
    found = received.filter(routed) if queue == Queue.RETURNED else received.exclude(routed)
    return set(found.values_list("pk", flat=True))


def _agree() -> None:
    marked = set(Case.objects.filter(first_assigned_at__isnull=False).values_list("pk", flat=True))
    routed = set(CaseAssignment.objects.values_list("case_id", flat=True))
    assert marked == routed
    today = None
    for queue in (Queue.TO_ROUTE, Queue.RETURNED):
        assert set(in_queue(Case.objects.all(), queue, today).values_list("pk", flat=True)) == _by_routings(queue)


def test_first_assigned_at_is_set_exactly_when_a_routing_exists(
    make_case, county_a, dept_x, dept_y, dept_x_user, dept_y_user
):
    fresh = make_case()
    bounced = services.assign(make_case(), by=county_a, department=dept_x)
    twice = services.assign(make_case(), by=county_a, department=dept_x)
    closed = services.assign(make_case(), by=county_a, department=dept_y)
    _agree()
    services.return_case(bounced, by=dept_x_user, reason="非本单位职责")  # returned: received, routed before
    services.return_case(twice, by=dept_x_user, reason="非本单位职责")
    services.assign(twice, by=county_a, department=dept_y)
    services.return_case(twice, by=dept_y_user, reason="也不是我们")
    services.reassign(services.assign(make_case(), by=county_a, department=dept_x), by=county_a, department=dept_y)
    services.resolve(closed, by=dept_y_user, result="已解决", evidence=[pdf_file()])
    services.reopen(closed, by=county_a, reason="企业不满意")
    _agree()
    assert {c.pk for c in in_queue(Case.objects.all(), Queue.TO_ROUTE, None)} == {fresh.pk}
    assert {c.pk for c in in_queue(Case.objects.all(), Queue.RETURNED, None)} == {bounced.pk, twice.pk}
    assert Case.objects.get(pk=fresh.pk).first_assigned_at is None


def test_the_dashboard_and_the_ledger_list_both_queues(client, make_case, county_a, dept_x, dept_x_user):
    waiting = [make_case() for _ in range(3)]
    returned = services.return_case(
        services.assign(make_case(), by=county_a, department=dept_x), by=dept_x_user, reason="错派"
    )
    client.force_login(county_a)
    body = client.get(reverse("home")).content.decode()
    to_route = body[body.index('id="queue-to_route"') :].split("</section>")[0]
    assert all(case.number in to_route for case in waiting) and returned.number not in to_route
    for queue, expected in ((Queue.TO_ROUTE, waiting), (Queue.RETURNED, [returned])):
        page = client.get(reverse("cases:ledger"), {"queue": queue.value})
        listed = [row.record.pk for row in page.context["table"].page.object_list]
        assert listed == [case.pk for case in expected]  # oldest first


def test_the_queues_ask_the_case_not_its_routings(region_a):
    """Each queue's SQL is a condition on the case's own columns (the partial indexes'
    predicates: case_to_route_idx, case_returned_idx; their use at scale is in the page
    benchmark's plans), with no subquery over the routings."""
    for queue in (Queue.TO_ROUTE, Queue.RETURNED):
        for scope in (Case.objects.all(), Case.objects.filter(region=region_a)):
            counted = in_queue(scope, queue, None).order_by().values("pk")[: desk_dashboard.COUNT_CAP + 1]
            sql = str(counted.query)
            assert "cases_caseassignment" not in sql and "first_assigned_at" in sql, sql
