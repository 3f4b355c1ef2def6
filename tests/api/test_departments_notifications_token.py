"""Departments, the notifications inbox, and token authentication."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from cases.models import Department
from notifications.models import Notification

pytestmark = pytest.mark.django_db


def names(response):
    assert response.status_code == 200, response.content
    return sorted(d["name"] for d in response.json())


def test_departments_are_scoped(api, dept_x, dept_y, dept_z, city_dept, county_a, city_user, assessor, dept_x_user):
    assert names(api(county_a).get("/api/v1/departments/")) == sorted([dept_x.name, dept_y.name, city_dept.name])
    assert names(api(county_a).get("/api/v1/departments/?region=411502")) == sorted([dept_x.name, dept_y.name])
    assert names(api(county_a).get("/api/v1/departments/?region=411503")) == []
    assert len(api(city_user).get("/api/v1/departments/").json()) == 4
    assert len(api(assessor).get("/api/v1/departments/?region=411503").json()) == 1
    assert names(api(dept_x_user).get("/api/v1/departments/")) == [dept_x.name]
    first = api(county_a).get("/api/v1/departments/").json()[0]
    assert set(first) >= {"id", "name", "region"}


def test_county_office_adds_a_department_to_its_region(api, county_a, region_a):
    response = api(county_a).post("/api/v1/departments/", {"name": "浉河区商务局", "region": "411502"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["region"] == "411502"
    assert Department.objects.filter(region=region_a, name="浉河区商务局").exists()
    again = api(county_a).post("/api/v1/departments/", {"name": "浉河区商务局", "region": "411502"}, format="json")
    assert again.status_code == 400 and "name" in again.json()


def test_department_creation_paths(api, county_a, city_user, dept_x_user, assessor):
    body = {"name": "新部门", "region": "411503"}
    assert api(county_a).post("/api/v1/departments/", body, format="json").status_code == 404
    assert api(county_a).post("/api/v1/departments/", dict(body, region="411500"), format="json").status_code == 403
    assert api(dept_x_user).post("/api/v1/departments/", body, format="json").status_code == 403
    assert api(assessor).post("/api/v1/departments/", body, format="json").status_code == 403
    response = api(city_user).post("/api/v1/departments/", {"name": "", "region": "411503"}, format="json")
    assert response.status_code == 400 and "name" in response.json()
    assert api(city_user).post("/api/v1/departments/", body, format="json").status_code == 201


def test_inbox_lists_my_notifications_and_marks_read(api, county_a, county_b, make_case):
    case = make_case()
    mine = Notification.objects.create(user=county_a, kind="overdue", message="已超期", case=case)
    Notification.objects.create(user=county_a, kind="due_soon", message="即将到期", read_at=mine.created_at)
    theirs = Notification.objects.create(user=county_b, kind="overdue", message="别人的")
    client = api(county_a)
    unread = client.get("/api/v1/notifications/?unread=true").json()
    assert [n["id"] for n in unread] == [mine.pk]
    assert unread[0]["case"] == case.pk and unread[0]["case_number"] == case.number and unread[0]["read_at"] is None
    assert len(client.get("/api/v1/notifications/").json()) == 2
    response = client.post(f"/api/v1/notifications/{mine.pk}/read/")
    assert response.status_code == 200 and response.json()["read_at"]
    assert client.get("/api/v1/notifications/?unread=true").json() == []
    assert client.post(f"/api/v1/notifications/{theirs.pk}/read/").status_code == 404


def test_create_api_token_prints_a_token_that_authenticates(county_a, capsys):
    call_command("create_api_token", "county_a")
    token = capsys.readouterr().out.strip()
    call_command("create_api_token", "county_a")
    assert capsys.readouterr().out.strip() == token  # the same token until --reset
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/cases/").status_code == 200
    call_command("create_api_token", "county_a", "--reset")
    assert client.get("/api/v1/cases/").status_code == 401
