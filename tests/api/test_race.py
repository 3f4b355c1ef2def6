"""Four departments' clerks resolve one case through the API at the same moment: one 200, three 409,
one ledger entry. Needs PostgreSQL (row locks across connections)."""

import threading

import pytest
from django.db import connections
from rest_framework.test import APIClient

from cases import services
from cases.models import Case, State
from ledger.models import LedgerEntry
from tests.conftest import pdf_file

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_four_concurrent_resolves_one_wins(assigned_case, dept_x_user):
    clients = []
    for _ in range(4):
        client = APIClient()
        client.force_login(dept_x_user)
        clients.append(client)
    barrier = threading.Barrier(4)
    statuses: list[int] = []
    lock = threading.Lock()

    def resolve(client):
        try:
            barrier.wait(timeout=10)
            response = client.post(
                f"/api/v1/cases/{assigned_case.pk}/resolve/",
                {"result": "已协调解决", "evidence": [pdf_file()]},
                format="multipart",
            )
            with lock:
                statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=resolve, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [200, 409, 409, 409]
    assert Case.objects.get(pk=assigned_case.pk).state == State.RESOLVED
    assert LedgerEntry.objects.filter(case=assigned_case, action="resolve").count() == 1
    assert assigned_case.evidence.count() == 1
    assert services.available_actions(Case.objects.get(pk=assigned_case.pk), dept_x_user) == []


def _race_posts(calls):
    """Run each (client, url, body, format) POST in its own thread, released together."""
    barrier = threading.Barrier(len(calls))
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def post(client, url, body, fmt):
        try:
            barrier.wait(timeout=10)
            response = client.post(url, body, format=fmt)
            with lock:
                answers.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_resolve_racing_a_reroute_or_a_return_loses_with_409_never_403(
    make_case, county_a, dept_x, dept_y, dept_x_user
):
    """The probe: a department resolving a case returned (or rerouted) a moment earlier."""
    office, clerk, colleague = APIClient(), APIClient(), APIClient()
    office.force_login(county_a)
    clerk.force_login(dept_x_user)
    colleague.force_login(dept_x_user)
    for round_ in range(6):
        case = services.assign(make_case(), by=county_a, department=dept_x)
        resolve = (
            clerk,
            f"/api/v1/cases/{case.pk}/resolve/",
            {"result": "已解决", "evidence": [pdf_file()]},
            "multipart",
        )
        if round_ % 2:
            other = (office, f"/api/v1/cases/{case.pk}/reassign/", {"department": dept_y.pk}, "json")
        else:
            other = (colleague, f"/api/v1/cases/{case.pk}/return/", {"reason": "不属本单位职责"}, "json")
        answers = _race_posts([resolve, other])
        assert sorted(code for code, _ in answers) == [200, 409], answers
        refused = next(body for code, body in answers if code == 409)
        assert refused == {"detail": "该问题已被他人处理，请刷新。"}
        assert LedgerEntry.objects.filter(case=case).count() == 3
        # Whoever lost, a later try by the department is still told the case moved on.
        late = clerk.post(
            f"/api/v1/cases/{case.pk}/resolve/", {"result": "x", "evidence": [pdf_file()]}, format="multipart"
        )
        assert late.status_code == 409
