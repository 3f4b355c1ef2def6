"""The notices REST endpoints of SPEC §8: each row, its answers, and scoping."""

from __future__ import annotations

import pytest
import time_machine
from django.core import mail

from notices import services
from notices.models import Notice, NoticeSchedule, Status
from tests.conftest import pdf_file

from .conftest import RECIPIENTS, at


@pytest.fixture(autouse=True)
def _april_2026():
    with time_machine.travel(at("2026-04-03", 10), tick=False):
        yield


def _client(client, user):
    client.force_login(user)
    return client


def test_post_schedule_creates_then_replaces(client, county_a, region_a):
    api = _client(client, county_a)
    body = {"region": "411502", "frequency": "quarterly", "recipients": RECIPIENTS}

    created = api.post("/api/v1/notice-schedules/", body, content_type="application/json")
    replaced = api.post("/api/v1/notice-schedules/", {**body, "frequency": "monthly"}, content_type="application/json")

    assert created.status_code == 201, created.json()
    assert created.json()["region"] == "411502" and created.json()["frequency"] == "quarterly"
    assert len(created.json()["recipients"]) == len(RECIPIENTS)
    assert replaced.status_code == 200
    assert NoticeSchedule.objects.get(region=region_a).frequency == "monthly"
    listed = api.get("/api/v1/notice-schedules/").json()
    assert [s["region"] for s in listed] == ["411502"]


def test_post_schedule_missing_a_group_is_400(client, county_a):
    response = _client(client, county_a).post(
        "/api/v1/notice-schedules/", {"region": "411502", "recipients": RECIPIENTS[:1]}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "recipients" in response.json()
    assert not NoticeSchedule.objects.exists()


def test_post_schedule_for_another_county_is_404(client, county_a, dept_z):
    response = _client(client, county_a).post(
        "/api/v1/notice-schedules/", {"region": "411503", "recipients": RECIPIENTS}, content_type="application/json"
    )
    assert response.status_code == 404


def test_draft_list_detail_and_issue(client, county_a, region_a, schedule_for):
    schedule_for(region_a)
    api = _client(client, county_a)

    drafted = api.post("/api/v1/notices/", {"region": "411502", "period": "2026-03"}, content_type="application/json")
    assert drafted.status_code == 201, drafted.json()
    body = drafted.json()
    assert body["status"] == "drafted" and body["period"] == "2026-03" and body["offline"] is False
    assert set(body["figures"]) >= {
        "received",
        "assigned",
        "resolved",
        "explained",
        "open",
        "on_time_rate",
        "overdue",
        "supervised",
    }
    assert isinstance(body["departments"], list)

    again = api.post("/api/v1/notices/", {"region": "411502", "period": "2026-03"}, content_type="application/json")
    assert again.json()["id"] == body["id"]

    listed = api.get("/api/v1/notices/?region=411502&year=2026").json()
    assert [n["id"] for n in listed] == [body["id"]]
    assert api.get("/api/v1/notices/?region=411502&year=2025").json() == []

    issued = api.post(f"/api/v1/notices/{body['id']}/issue/")
    assert issued.status_code == 200
    assert issued.json()["status"] == "issued"
    assert issued.json()["issued_on"] == "2026-04-03"
    assert issued.json()["groups"] == ["city_office", "local_leader", "department_leader"]
    sent = len(mail.outbox)
    assert api.post(f"/api/v1/notices/{body['id']}/issue/").status_code == 200
    assert len(mail.outbox) == sent

    assert api.get(f"/api/v1/notices/{body['id']}/").json()["status"] == "issued"
    patched = api.patch(f"/api/v1/notices/{body['id']}/", {"covering_text": "x"}, content_type="application/json")
    assert patched.status_code == 409
    redraft = api.post("/api/v1/notices/", {"region": "411502", "period": "2026-03"}, content_type="application/json")
    assert redraft.status_code == 409


@pytest.mark.parametrize("period", ["2026-13", "2026-Q5", "garbage", ""])
def test_draft_with_a_period_that_does_not_exist_is_400(client, county_a, period):
    response = _client(client, county_a).post(
        "/api/v1/notices/", {"region": "411502", "period": period}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "period" in response.json()


def test_offline_registration_with_a_scan(client, county_a, region_a):
    api = _client(client, county_a)
    data = {
        "region": "411502",
        "period": "2026-02",
        "offline": "true",
        "issued_on": "2026-03-05",
        "groups": ["city_office", "local_leader", "department_leader"],
        "document": pdf_file("二月通报.pdf"),
    }

    created = api.post("/api/v1/notices/", data)
    duplicate = api.post("/api/v1/notices/", {**data, "document": pdf_file("二月通报.pdf")})

    assert created.status_code == 201, created.json()
    assert created.json()["status"] == "offline" and created.json()["offline"] is True
    assert created.json()["issued_on"] == "2026-03-05"
    assert duplicate.status_code == 409
    download = api.get(created.json()["document_url"])
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert Notice.objects.filter(region=region_a, offline=True).count() == 1


@pytest.mark.parametrize(
    "issued_on, field", [("2026-05-01", "issued_on"), ("2026-02-10", "issued_on"), ("05/03/2026", "issued_on")]
)
def test_offline_registration_with_a_bad_date_is_400(client, county_a, issued_on, field):
    response = _client(client, county_a).post(
        "/api/v1/notices/",
        {
            "region": "411502",
            "period": "2026-02",
            "offline": "true",
            "issued_on": issued_on,
            "groups": ["city_office"],
            "document": pdf_file(),
        },
    )
    assert response.status_code == 400
    assert field in response.json()
    assert not Notice.objects.exists()


def test_outside_scope_is_404_and_departments_see_nothing(
    client, county_a, county_b, dept_x_user, assessor, city_user, region_b, schedule_for
):
    schedule_for(region_b)
    notice = services.draft_notice(by=county_b, region=region_b, period="2026-03", now=at("2026-04-01"))

    api = _client(client, county_a)
    assert api.get(f"/api/v1/notices/{notice.pk}/").status_code == 404
    assert api.post(f"/api/v1/notices/{notice.pk}/issue/").status_code == 404
    assert api.get("/api/v1/notices/").json() == []
    assert api.get("/api/v1/notice-schedules/").json() == []
    assert (
        api.post(
            "/api/v1/notices/", {"region": "411503", "period": "2026-03"}, content_type="application/json"
        ).status_code
        == 404
    )

    api = _client(client, dept_x_user)
    assert api.get(f"/api/v1/notices/{notice.pk}/").status_code == 404
    assert api.get("/api/v1/notices/").json() == []

    api = _client(client, assessor)
    assert api.get(f"/api/v1/notices/{notice.pk}/").status_code == 200
    assert api.post(f"/api/v1/notices/{notice.pk}/issue/").status_code == 403

    api = _client(client, city_user)
    assert api.post(f"/api/v1/notices/{notice.pk}/issue/").status_code == 200
    assert Notice.objects.get(pk=notice.pk).status == Status.ISSUED


def test_city_manages_its_own_notice(client, city_user, city, schedule_for):
    schedule_for(city, frequency="quarterly")
    api = _client(client, city_user)

    response = api.post("/api/v1/notices/", {"region": "411500", "period": "2026-Q1"}, content_type="application/json")

    assert response.status_code == 201
    assert response.json()["region"] == "411500"
    assert api.post(f"/api/v1/notices/{response.json()['id']}/issue/").json()["status"] == "issued"


@pytest.mark.parametrize(
    "body",
    [
        [1, 2],
        {"region": "411502", "period": "2026-02", "offline": True, "issued_on": "2026-03-02", "groups": 5},
        {"region": ["411502"], "period": {"x": 1}},
    ],
)
def test_malformed_bodies_are_400_or_404_never_500(client, county_a, body):
    response = _client(client, county_a).post("/api/v1/notices/", body, content_type="application/json")
    assert response.status_code in (400, 404)


def test_patch_with_non_text_is_400(client, county_a, region_a):
    notice = services.draft_notice(by=county_a, region=region_a, period="2026-03")
    response = _client(client, county_a).patch(
        f"/api/v1/notices/{notice.pk}/", {"covering_text": 5}, content_type="application/json"
    )
    assert response.status_code == 400
    ok = _client(client, county_a).patch(
        f"/api/v1/notices/{notice.pk}/", {"covering_text": "三月份通报"}, content_type="application/json"
    )
    assert ok.status_code == 200 and ok.json()["covering_text"] == "三月份通报"
