"""Race answers on the API (SPEC §2, §8): a department that was the case's department — it still
sees the case through its routing history — and acts after the case moved on (returned, rerouted,
closed) hears 409 {"detail": "该问题已被他人处理，请刷新。"}; a user who never was the right actor
hears 403 (or 404 outside scope)."""

import pytest

from cases import services
from ledger.models import LedgerEntry
from tests.conftest import pdf_file

pytestmark = pytest.mark.django_db


def entries(case) -> list[str]:
    return list(LedgerEntry.objects.filter(case=case).order_by("seq").values_list("action", flat=True))


def stored_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def api_url(case, action):
    return f"/api/v1/cases/{case.pk}/{action}/"


def test_api_resolving_a_case_returned_a_moment_earlier_is_409(api, assigned_case, dept_x_user, settings):
    services.return_case(assigned_case, by=dept_x_user, reason="不属本单位职责")
    response = api(dept_x_user).post(
        api_url(assigned_case, "resolve"), {"result": "已解决", "evidence": [pdf_file()]}, format="multipart"
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "该问题已被他人处理，请刷新。"}
    assert entries(assigned_case) == ["create", "assign", "return"] and stored_files(settings) == []


def test_api_department_the_case_was_rerouted_from_gets_409_the_new_one_200(
    api, assigned_case, county_a, dept_y, dept_x_user, dept_y_user
):
    services.reassign(assigned_case, by=county_a, department=dept_y)
    for action, body, fmt in (
        ("resolve", {"result": "x", "evidence": [pdf_file()]}, "multipart"),
        ("explain", {"result": "x", "policy_basis": "y", "evidence": [pdf_file()]}, "multipart"),
        ("acknowledge", {}, "json"),
        ("return", {"reason": "x"}, "json"),
        ("request-extension", {"reason": "x", "days": 2}, "json"),
    ):
        response = api(dept_x_user).post(api_url(assigned_case, action), body, format=fmt)
        assert response.status_code == 409, (action, response.content)
        assert response.json()["detail"] == "该问题已被他人处理，请刷新。"
    response = api(dept_y_user).post(
        api_url(assigned_case, "resolve"), {"result": "已解决", "evidence": [pdf_file()]}, format="multipart"
    )
    assert response.status_code == 200


def test_api_never_the_right_actor_stays_403_or_404(api, assigned_case, county_a, assessor, dept_y_user):
    body = {"result": "x", "evidence": [pdf_file()]}
    assert api(county_a).post(api_url(assigned_case, "resolve"), body, format="multipart").status_code == 403
    body = {"result": "x", "evidence": [pdf_file()]}
    assert api(assessor).post(api_url(assigned_case, "resolve"), body, format="multipart").status_code == 403
    body = {"result": "x", "evidence": [pdf_file()]}
    assert api(dept_y_user).post(api_url(assigned_case, "resolve"), body, format="multipart").status_code == 404
