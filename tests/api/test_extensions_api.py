"""request-extension / approve-extension / reject-extension over the API."""

import datetime as dt

import pytest

from cases import services
from cases.models import Case
from ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db


def url(case, action):
    return f"/api/v1/cases/{case.pk}/{action}/"


def test_department_asks_and_office_approves_moving_the_due_date(api, assigned_case, dept_x_user, county_a):
    before = Case.objects.get(pk=assigned_case.pk).due_date
    response = api(dept_x_user).post(
        url(assigned_case, "request-extension"), {"reason": "需协调省级部门", "days": 3}, format="json"
    )
    assert response.status_code == 200, response.content
    assert "approve_extension" in api(county_a).get(f"/api/v1/cases/{assigned_case.pk}/").json()["available_actions"]
    response = api(county_a).post(url(assigned_case, "approve-extension"), {"note": "同意"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["extension_days"] == 3
    assert dt.date.fromisoformat(body["due_date"]) > before
    actions = list(LedgerEntry.objects.filter(case=assigned_case).values_list("action", "source"))
    assert actions[-2:] == [("request_extension", "api"), ("approve_extension", "api")]


def test_office_rejects_and_the_due_date_stays(api, assigned_case, dept_x_user, county_a):
    before = Case.objects.get(pk=assigned_case.pk).due_date
    services.request_extension(assigned_case, by=dept_x_user, reason="x", days=2)
    response = api(county_a).post(url(assigned_case, "reject-extension"), {}, format="json")
    assert response.status_code == 200
    assert response.json()["due_date"] == before.isoformat() and response.json()["extension_days"] == 0


def test_extension_request_paths(api, assigned_case, dept_x_user, dept_y_user, county_a):
    client = api(dept_x_user)
    response = client.post(url(assigned_case, "request-extension"), {"reason": "x"}, format="json")
    assert response.status_code == 400 and "days" in response.json()
    response = client.post(url(assigned_case, "request-extension"), {"reason": "x", "days": 99}, format="json")
    assert response.status_code == 400 and "days" in response.json()
    assert (
        api(county_a)
        .post(url(assigned_case, "request-extension"), {"reason": "x", "days": 2}, format="json")
        .status_code
        == 403
    )
    assert (
        api(dept_y_user)
        .post(url(assigned_case, "request-extension"), {"reason": "x", "days": 2}, format="json")
        .status_code
        == 404
    )
    assert (
        client.post(url(assigned_case, "request-extension"), {"reason": "x", "days": 2}, format="json").status_code
        == 200
    )
    # A second request while one is pending is refused as a wrong state.
    assert (
        client.post(url(assigned_case, "request-extension"), {"reason": "x", "days": 2}, format="json").status_code
        == 409
    )


def test_extension_decision_paths(api, assigned_case, dept_x_user, county_a, county_b):
    assert api(county_a).post(url(assigned_case, "approve-extension"), {}, format="json").status_code == 409
    services.request_extension(assigned_case, by=dept_x_user, reason="x", days=2)
    assert api(dept_x_user).post(url(assigned_case, "approve-extension"), {}, format="json").status_code == 403
    assert api(county_b).post(url(assigned_case, "reject-extension"), {}, format="json").status_code == 404
    response = api(county_a).post(url(assigned_case, "approve-extension"), {"note": "x" * 3000}, format="json")
    assert response.status_code == 400 and "note" in response.json()
