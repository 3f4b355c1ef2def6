"""Every transition endpoint: in scope it works; wrong role 403; outside scope 404; bad input 400;
wrong state 409 — and a refused call changes nothing."""

import pytest

from cases import services
from cases.models import Case, State
from ledger.models import LedgerEntry
from tests.conftest import pdf_file

pytestmark = pytest.mark.django_db


def url(case, action):
    return f"/api/v1/cases/{case.pk}/{action}/"


def entries(case):
    return LedgerEntry.objects.filter(case=case).count()


@pytest.fixture
def resolved_case(assigned_case, dept_x_user):
    return services.resolve(assigned_case, by=dept_x_user, result="已协调解决", evidence=[pdf_file()])


# -- assign / reassign -----------------------------------------------------------------------


def test_county_office_assigns_a_received_case_to_its_department(api, make_case, county_a, dept_x):
    case = make_case()
    response = api(county_a).post(url(case, "assign"), {"department": dept_x.pk}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "assigned" and body["department"] == dept_x.pk
    assert body["department_name"] == dept_x.name and body["due_date"]
    entry = LedgerEntry.objects.filter(case=case).order_by("-seq").first()
    assert entry.action == "assign" and entry.source == "api"


def test_city_office_may_assign_a_county_case(api, make_case, city_user, dept_x):
    response = api(city_user).post(
        url(make_case(), "assign"), {"department": dept_x.pk, "complex": True}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["complex"] is True


def test_assign_without_department_is_400_with_the_field(api, make_case, county_a):
    case = make_case()
    response = api(county_a).post(url(case, "assign"), {}, format="json")
    assert response.status_code == 400 and "department" in response.json()
    assert entries(case) == 1


def test_assign_to_unknown_or_foreign_department_is_400(api, make_case, county_a, dept_z):
    case = make_case()
    assert api(county_a).post(url(case, "assign"), {"department": 999999}, format="json").status_code == 400
    response = api(county_a).post(url(case, "assign"), {"department": dept_z.pk}, format="json")
    assert response.status_code == 400 and "department" in response.json()
    assert Case.objects.get(pk=case.pk).state == State.RECEIVED


def test_assign_by_department_or_assessor_is_403(api, make_case, dept_x_user, assessor, dept_x):
    case = make_case()
    services.assign(case, by=case.created_by, department=dept_x)
    case = make_case()
    assert api(assessor).post(url(case, "assign"), {"department": dept_x.pk}, format="json").status_code == 403


def test_assign_outside_scope_is_404(api, make_case, county_b, dept_x, dept_y_user):
    case = make_case()
    assert api(county_b).post(url(case, "assign"), {"department": dept_x.pk}, format="json").status_code == 404
    assert api(dept_y_user).post(url(case, "assign"), {"department": dept_x.pk}, format="json").status_code == 404
    assert entries(case) == 1


def test_assign_an_assigned_case_is_409(api, assigned_case, county_a, dept_y):
    response = api(county_a).post(url(assigned_case, "assign"), {"department": dept_y.pk}, format="json")
    assert response.status_code == 409 and "detail" in response.json()


def test_reassign_moves_the_case_and_the_new_department_sees_it(api, assigned_case, county_a, dept_y, dept_y_user):
    response = api(county_a).post(url(assigned_case, "reassign"), {"department": dept_y.pk}, format="json")
    assert response.status_code == 200 and response.json()["department"] == dept_y.pk
    assert api(dept_y_user).get(f"/api/v1/cases/{assigned_case.pk}/").status_code == 200


def test_reassign_a_received_case_is_409_and_to_same_department_400(api, make_case, assigned_case, county_a, dept_x):
    assert api(county_a).post(url(make_case(), "reassign"), {"department": dept_x.pk}, format="json").status_code == 409
    assert (
        api(county_a).post(url(assigned_case, "reassign"), {"department": dept_x.pk}, format="json").status_code == 400
    )


# -- acknowledge -----------------------------------------------------------------------------


def test_assigned_department_acknowledges_once(api, assigned_case, dept_x_user):
    client = api(dept_x_user)
    response = client.post(url(assigned_case, "acknowledge"))
    assert response.status_code == 200 and response.json()["acknowledged_at"]
    assert "acknowledge" not in response.json()["available_actions"]
    assert client.post(url(assigned_case, "acknowledge")).status_code == 409


def test_acknowledge_by_office_is_403_by_other_department_404(api, assigned_case, county_a, dept_y_user, dept_z_user):
    assert api(county_a).post(url(assigned_case, "acknowledge")).status_code == 403
    assert api(dept_y_user).post(url(assigned_case, "acknowledge")).status_code == 404
    assert api(dept_z_user).post(url(assigned_case, "acknowledge")).status_code == 404


# -- return ----------------------------------------------------------------------------------


def test_department_returns_a_misrouted_case(api, assigned_case, dept_x_user):
    response = api(dept_x_user).post(
        url(assigned_case, "return"), {"reason": "不属于本单位职责", "suggested_department": "县人社局"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "received" and response.json()["department"] is None
    entry = LedgerEntry.objects.filter(case=assigned_case).order_by("-seq").first()
    assert entry.action == "return" and entry.payload["suggested_department"] == "县人社局"


def test_return_without_reason_400_twice_409_by_office_403(api, assigned_case, dept_x_user, county_a):
    client = api(dept_x_user)
    response = client.post(url(assigned_case, "return"), {"reason": ""}, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    assert api(county_a).post(url(assigned_case, "return"), {"reason": "x"}, format="json").status_code == 403
    assert client.post(url(assigned_case, "return"), {"reason": "x"}, format="json").status_code == 200
    # The case is back with the office: the department no longer holds it, and is told it moved on.
    response = client.post(url(assigned_case, "return"), {"reason": "x"}, format="json")
    assert response.status_code == 409 and response.json()["detail"] == "该问题已被他人处理，请刷新。"


# -- resolve / explain -----------------------------------------------------------------------


def test_department_resolves_with_evidence_files(api, assigned_case, dept_x_user):
    response = api(dept_x_user).post(
        url(assigned_case, "resolve"),
        {"result": "已协调解决", "evidence": [pdf_file("说明1.pdf"), pdf_file("说明2.pdf")]},
        format="multipart",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "resolved" and body["closed_at"] and body["on_time"] is True
    assert assigned_case.evidence.count() == 2


def test_resolve_without_evidence_or_result_is_400(api, assigned_case, dept_x_user):
    client = api(dept_x_user)
    response = client.post(url(assigned_case, "resolve"), {"result": "已解决"}, format="multipart")
    assert response.status_code == 400 and "evidence" in response.json()
    response = client.post(url(assigned_case, "resolve"), {"evidence": [pdf_file()]}, format="multipart")
    assert response.status_code == 400 and "result" in response.json()
    assert entries(assigned_case) == 2


def test_resolve_with_a_disallowed_file_type_is_400(api, assigned_case, dept_x_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("说明.pdf", b"MZ\x90\x00 not a pdf at all", content_type="application/pdf")
    response = api(dept_x_user).post(
        url(assigned_case, "resolve"), {"result": "x", "evidence": [bad]}, format="multipart"
    )
    assert response.status_code == 400 and "evidence" in response.json()
    assert Case.objects.get(pk=assigned_case.pk).state == State.ASSIGNED


def test_resolve_twice_is_409_by_office_403_outside_404(api, resolved_case, dept_x_user, county_a, dept_z_user):
    body = {"result": "x", "evidence": [pdf_file()]}
    assert api(dept_x_user).post(url(resolved_case, "resolve"), body, format="multipart").status_code == 409
    body = {"result": "x", "evidence": [pdf_file()]}
    assert api(county_a).post(url(resolved_case, "resolve"), body, format="multipart").status_code == 403
    body = {"result": "x", "evidence": [pdf_file()]}
    assert api(dept_z_user).post(url(resolved_case, "resolve"), body, format="multipart").status_code == 404


def test_department_explains_with_policy_basis(api, assigned_case, dept_x_user):
    response = api(dept_x_user).post(
        url(assigned_case, "explain"),
        {
            "result": "不属本单位职责，已书面答复",
            "policy_basis": "《优化营商环境条例》第十条",
            "evidence": [pdf_file()],
        },
        format="multipart",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "explained" and body["policy_basis"].startswith("《优化")
    assert body["redirect_to"]  # "as stated in the reply" when the caller does not say


def test_explain_without_policy_basis_is_400(api, assigned_case, dept_x_user):
    response = api(dept_x_user).post(
        url(assigned_case, "explain"), {"result": "x", "evidence": [pdf_file()]}, format="multipart"
    )
    assert response.status_code == 400 and "policy_basis" in response.json()


# -- reopen and follow-up --------------------------------------------------------------------


def test_office_reopens_a_closed_case(api, resolved_case, county_a):
    response = api(county_a).post(url(resolved_case, "reopen"), {"reason": "企业不满意"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "assigned"
    assert response.json()["reopen_count"] == 1


def test_reopen_paths(api, resolved_case, make_case, county_a, county_b, dept_x_user, dept_x):
    open_case = services.assign(make_case(), by=county_a, department=dept_x)
    assert api(county_a).post(url(resolved_case, "reopen"), {}, format="json").status_code == 400
    assert api(dept_x_user).post(url(resolved_case, "reopen"), {"reason": "x"}, format="json").status_code == 403
    assert api(county_b).post(url(resolved_case, "reopen"), {"reason": "x"}, format="json").status_code == 404
    assert api(county_a).post(url(open_case, "reopen"), {"reason": "x"}, format="json").status_code == 409


def test_follow_up_records_satisfaction_by_code_or_chinese(api, resolved_case, county_a):
    response = api(county_a).post(
        url(resolved_case, "follow-up"), {"satisfaction": "基本满意", "note": "电话回访"}, format="json"
    )
    assert response.status_code == 200 and response.json()["satisfaction"] == "basically_satisfied"


def test_follow_up_paths(api, resolved_case, make_case, county_a, county_b, dept_x_user):
    response = api(county_a).post(url(resolved_case, "follow-up"), {"satisfaction": "happy"}, format="json")
    assert response.status_code == 400 and "satisfaction" in response.json()
    assert (
        api(dept_x_user).post(url(resolved_case, "follow-up"), {"satisfaction": "satisfied"}, format="json").status_code
        == 403
    )
    assert (
        api(county_b).post(url(resolved_case, "follow-up"), {"satisfaction": "satisfied"}, format="json").status_code
        == 404
    )
    assert (
        api(county_a).post(url(make_case(), "follow-up"), {"satisfaction": "satisfied"}, format="json").status_code
        == 409
    )


def test_another_countys_department_answers_like_no_department_at_all(api, county_a, make_case, dept_z):
    """A county cannot probe which department ids exist elsewhere (found by review)."""
    client = api(county_a)
    case = make_case()
    foreign = client.post(f"/api/v1/cases/{case.pk}/assign/", {"department": dept_z.pk}, format="json")
    missing = client.post(f"/api/v1/cases/{case.pk}/assign/", {"department": 999999}, format="json")
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json() == missing.json()
