"""Retries without duplicates: POST /api/v1/cases/ honours an Idempotency-Key header (SPEC §8).

Same key and body → the same case (201, then 200); same key, other body → 409; the key is written
in the case's own transaction; two requests with one key at once create one case (PostgreSQL)."""

import datetime as dt
import threading
import uuid

import pytest
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from cases import idempotency
from cases.models import Case, IdempotencyKey
from ledger.models import LedgerEntry

BODY = {
    "region": "411502",
    "enterprise": {"name": "信阳毛尖茶业有限公司", "credit_code": "914115683BJ1XG612H", "size": "规模以上"},
    "category": "labour",
    "channel": "热线电话",
    "description": "季节性用工缺口约80人",
    "contact_name": "李四",
    "contact_phone": "13900000000",
}


def post(client, body=BODY, key=None):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post("/api/v1/cases/", body, format="json", headers=headers)


@pytest.mark.django_db
def test_a_retry_with_the_same_key_and_body_gets_the_same_case(api, county_a):
    client = api(county_a)
    key = str(uuid.uuid4())
    first = post(client, key=key)
    assert first.status_code == 201, first.content
    # The answer was lost (dropped connection); the client sends the request again.
    again = post(client, dict(reversed(list(BODY.items()))), key=key)  # same body, keys in another order
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["number"] == first.json()["number"]
    assert again["Location"].endswith(f"/api/v1/cases/{first.json()['id']}/")
    assert Case.objects.count() == 1
    assert LedgerEntry.objects.filter(action="create").count() == 1
    row = IdempotencyKey.objects.get()
    assert (row.user, row.key, row.case_id) == (county_a, key, first.json()["id"])


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_409_in_chinese(api, county_a):
    client = api(county_a)
    first = post(client, key="retry-1")
    changed = post(client, dict(BODY, description="另一个问题：融资困难"), key="retry-1")
    assert changed.status_code == 409
    detail = changed.json()["detail"]
    assert "Idempotency-Key" in detail and "已用于" in detail and first.json()["number"] in detail
    assert Case.objects.count() == 1


@pytest.mark.django_db
def test_without_a_key_every_request_logs_a_case(api, county_a):
    client = api(county_a)
    assert post(client).status_code == 201 and post(client).status_code == 201
    assert Case.objects.count() == 2 and not IdempotencyKey.objects.exists()


@pytest.mark.django_db
def test_keys_are_per_user(api, county_a, city_user):
    assert post(api(county_a), key="k-1").status_code == 201
    assert post(api(city_user), key="k-1").status_code == 201
    assert Case.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "   ", "has space", "x" * 256, "ключ", "tab\tkey"])
def test_a_key_that_is_not_a_key_is_400(api, county_a, key):
    response = post(api(county_a), key=key)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["detail"]
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_a_refused_request_stores_no_key_and_its_corrected_retry_creates(api, county_a):
    client = api(county_a)
    bad = post(client, dict(BODY, description=""), key="k-2")
    assert bad.status_code == 400 and not IdempotencyKey.objects.exists()
    assert post(client, key="k-2").status_code == 201


@pytest.mark.django_db
def test_wrong_role_with_a_key_is_403_and_stores_nothing(api, dept_x_user):
    assert post(api(dept_x_user), key="k-3").status_code == 403
    assert not IdempotencyKey.objects.exists() and not Case.objects.exists()


@pytest.mark.django_db
def test_key_and_case_are_written_together_or_not_at_all(api, county_a, monkeypatch):
    def fail(**kwargs):
        raise ConnectionError("database went away")

    monkeypatch.setattr(IdempotencyKey.objects, "create", fail)
    with pytest.raises(ConnectionError):
        post(api(county_a), key="k-4")
    assert not Case.objects.exists() and not LedgerEntry.objects.exists()


@pytest.mark.django_db
def test_old_keys_expire_and_then_the_key_logs_anew(api, county_a, settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    client = api(county_a)
    first = post(client, key="k-5")
    fresh = post(client, key="k-6")
    IdempotencyKey.objects.filter(key="k-5").update(created_at=timezone.now() - dt.timedelta(hours=25))
    assert idempotency.expire_keys(now=timezone.now()) == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["k-6"]
    assert post(client, key="k-6").json()["id"] == fresh.json()["id"]
    again = post(client, key="k-5")
    assert again.status_code == 201 and again.json()["id"] != first.json()["id"]


@pytest.mark.django_db
def test_the_schema_documents_the_header(api, county_a):
    schema = api(county_a).get("/api/schema/", {"format": "json"}).json()
    create = schema["paths"]["/api/v1/cases/"]["post"]
    header = next(p for p in create["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header" and not header.get("required", False)
    assert header["schema"]["maxLength"] == 255
    assert {"200", "201", "409"} <= set(create["responses"])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_create_one_case(county_a, region_a, category, channel):
    clients = []
    for _ in range(4):
        client = APIClient()
        client.force_login(county_a)
        clients.append(client)
    barrier = threading.Barrier(len(clients))
    answers: list[tuple[int, int]] = []
    lock = threading.Lock()

    def send(client):
        try:
            barrier.wait(timeout=10)
            response = post(client, key="same-key-at-once")
            with lock:
                answers.append((response.status_code, response.json().get("id")))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(code for code, _ in answers) == [200, 200, 200, 201], answers
    assert len({case_id for _, case_id in answers}) == 1
    assert Case.objects.count() == 1 and LedgerEntry.objects.filter(action="create").count() == 1
    assert IdempotencyKey.objects.count() == 1
