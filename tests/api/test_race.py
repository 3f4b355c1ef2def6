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
            response = client.post(f"/api/v1/cases/{assigned_case.pk}/resolve/",
                                   {"result": "已协调解决", "evidence": [pdf_file()]}, format="multipart")
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
