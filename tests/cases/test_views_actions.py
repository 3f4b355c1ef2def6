"""Each action form of the case page: allowed for the right role, refused with a message otherwise,
and bad input or a wrong state changes nothing (no ledger entry, no file)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases import services
from cases.models import Case, Evidence, State
from ledger.models import LedgerEntry
from tests.conftest import PDF_BYTES, pdf_file

pytestmark = pytest.mark.django_db


def post(client, name, case, data=None):
    data = {f"{name}-{key}": value for key, value in (data or {}).items()}
    return client.post(reverse(f"cases:{name}", args=[case.pk]), data)


def entries(case) -> list[str]:
    return list(LedgerEntry.objects.filter(case=case).order_by("seq").values_list("action", flat=True))


def reload(case) -> Case:
    return Case.objects.get(pk=case.pk)


# -- the happy path, one role at a time ------------------------------------------------------


def test_county_office_routes_a_case_to_a_department(client, make_case, county_a, dept_x):
    case = make_case()
    client.force_login(county_a)
    response = post(client, "assign", case, {"department": dept_x.pk, "complex": "on"})
    assert response.status_code == 302 and response["Location"] == reverse("cases:detail", args=[case.pk])
    case = reload(case)
    assert case.state == State.ASSIGNED and case.department == dept_x and case.complex
    assert entries(case) == ["create", "assign"]
    page = client.get(response["Location"]).content.decode()
    assert "已交办" in page  # state label in Chinese


def test_department_acknowledges_resolves_with_several_files(client, assigned_case, dept_x_user):
    client.force_login(dept_x_user)
    assert post(client, "acknowledge", assigned_case).status_code == 302
    response = post(
        client,
        "resolve",
        assigned_case,
        {
            "result": "已协调人社部门举办专场招聘会",
            "evidence": [pdf_file("招聘会通知.pdf"), pdf_file("签到表.pdf")],
        },
    )
    assert response.status_code == 302
    case = reload(assigned_case)
    assert case.state == State.RESOLVED
    assert sorted(case.evidence.values_list("original_name", flat=True)) == ["招聘会通知.pdf", "签到表.pdf"]
    assert entries(case) == ["create", "assign", "acknowledge", "resolve"]


def test_department_answers_with_an_explanation(client, assigned_case, dept_x_user):
    client.force_login(dept_x_user)
    response = post(
        client,
        "explain",
        assigned_case,
        {
            "result": "该事项不属于本部门职权范围",
            "policy_basis": "《信阳市企业服务办法》第十条",
            "redirect_to": "市场监管局窗口",
            "evidence": [pdf_file("答复函.pdf")],
        },
    )
    assert response.status_code == 302
    case = reload(assigned_case)
    assert case.state == State.EXPLAINED and case.policy_basis.startswith("《信阳市")


def test_explanation_needs_policy_basis_and_where_to_turn(client, assigned_case, dept_x_user):
    client.force_login(dept_x_user)
    response = post(client, "explain", assigned_case, {"result": "不属于职权范围", "evidence": [pdf_file()]})
    assert response.status_code == 400
    assert "必填" in response.content.decode()
    assert reload(assigned_case).state == State.ASSIGNED and entries(assigned_case) == ["create", "assign"]


def test_department_returns_a_misrouted_case(client, assigned_case, dept_x_user):
    client.force_login(dept_x_user)
    response = post(client, "return", assigned_case, {"reason": "不属于本单位职责", "suggested_department": "人社局"})
    assert response.status_code == 302
    case = reload(assigned_case)
    assert case.state == State.RECEIVED and case.department is None
    assert LedgerEntry.objects.get(case=case, action="return").payload["suggested_department"] == "人社局"


def test_department_adds_evidence_while_handling(client, assigned_case, dept_x_user):
    client.force_login(dept_x_user)
    response = post(client, "evidence", assigned_case, {"note": "现场协调记录", "evidence": [pdf_file("记录.pdf")]})
    assert response.status_code == 302
    assert entries(assigned_case)[-1] == "evidence"


def test_office_reopens_and_records_follow_up(client, assigned_case, county_a, dept_x_user):
    services.resolve(assigned_case, by=dept_x_user, result="已解决", evidence=[pdf_file()])
    client.force_login(county_a)
    assert reverse("cases:follow_up", args=[assigned_case.pk]) == f"/cases/{assigned_case.pk}/follow-up/"
    assert (
        post(client, "follow_up", assigned_case, {"satisfaction": "dissatisfied", "note": "企业不满意"}).status_code
        == 302
    )
    assert reload(assigned_case).satisfaction == "dissatisfied"
    assert post(client, "reopen", assigned_case, {"reason": "企业对结果不满意"}).status_code == 302
    case = reload(assigned_case)
    assert case.state == State.ASSIGNED and case.reopen_count == 1
    assert entries(case)[-2:] == ["follow_up", "reopen"]


def test_reassign_offers_only_routable_departments(client, assigned_case, county_a, dept_y, dept_z):
    client.force_login(county_a)
    page = client.get(reverse("cases:detail", args=[assigned_case.pk])).content.decode()
    assert dept_y.name in page and dept_z.name not in page
    response = post(client, "reassign", assigned_case, {"department": dept_z.pk})
    assert response.status_code == 400
    assert reload(assigned_case).department_id != dept_z.pk
    assert post(client, "reassign", assigned_case, {"department": dept_y.pk}).status_code == 302
    assert reload(assigned_case).department == dept_y


# -- only the actions this user may take are offered ------------------------------------------


def test_page_shows_only_the_actions_of_this_user(client, assigned_case, county_a, dept_x_user, assessor):
    url = reverse("cases:detail", args=[assigned_case.pk])
    client.force_login(dept_x_user)
    page = client.get(url).content.decode()
    for name in ("acknowledge", "resolve", "explain", "return", "evidence"):
        assert f'id="action-{name}"' in page
    assert 'id="action-reassign"' not in page
    client.force_login(county_a)
    page = client.get(url).content.decode()
    assert 'id="action-reassign"' in page and 'id="action-resolve"' not in page
    client.force_login(assessor)
    assert 'id="actions"' not in client.get(url).content.decode()


# -- wrong role: 403 with a message; wrong state: 409; nothing changes -----------------------


@pytest.mark.parametrize(
    "name,data",
    [
        ("assign", {"department": "DEPT"}),
        ("reopen", {"reason": "不满意"}),
        ("follow_up", {"satisfaction": "satisfied"}),
    ],
)
def test_department_may_not_take_office_actions(client, make_case, dept_x, dept_x_user, county_a, name, data):
    case = services.assign(make_case(), by=county_a, department=dept_x)
    data = {key: (dept_x.pk if value == "DEPT" else value) for key, value in data.items()}
    client.force_login(dept_x_user)
    response = post(client, name, case, data)
    assert response.status_code == 403
    assert "只有" in response.content.decode()
    assert entries(case) == ["create", "assign"]


def test_office_may_not_resolve_for_the_department(client, assigned_case, county_a):
    client.force_login(county_a)
    response = post(client, "resolve", assigned_case, {"result": "代为办结", "evidence": [pdf_file()]})
    assert response.status_code == 403
    assert reload(assigned_case).state == State.ASSIGNED and not Evidence.objects.exists()


def test_assessor_may_only_read(client, assigned_case, assessor):
    client.force_login(assessor)
    assert post(client, "reassign", assigned_case, {"department": assigned_case.department_id}).status_code == 403
    assert client.get(reverse("cases:intake")).status_code == 403


def test_former_department_may_no_longer_act(client, assigned_case, county_a, dept_y, dept_x_user):
    services.reassign(assigned_case, by=county_a, department=dept_y)
    client.force_login(dept_x_user)
    response = post(client, "resolve", assigned_case, {"result": "x", "evidence": [pdf_file()]})
    # It was the right actor until the case moved on: a lost race (409), not a missing right (403).
    assert response.status_code == 409 and "该问题已被他人处理，请刷新" in response.content.decode()
    assert reload(assigned_case).state == State.ASSIGNED and not Evidence.objects.exists()


def test_transition_from_the_wrong_state_is_409_and_changes_nothing(client, make_case, county_a):
    case = make_case()
    client.force_login(county_a)
    response = post(client, "reopen", case, {"reason": "企业不满意"})
    assert response.status_code == 409
    body = response.content.decode()
    assert "案件已被他人更改" in body and "已受理" in body
    assert reload(case).state == State.RECEIVED and entries(case) == ["create"]


def test_stale_page_acting_after_someone_else_is_409(client, make_case, county_a, city_user, dept_x, dept_y):
    case = make_case()
    services.assign(case, by=city_user, department=dept_y)  # the city routed it meanwhile
    client.force_login(county_a)
    response = post(client, "assign", case, {"department": dept_x.pk})
    assert response.status_code == 409
    assert reload(case).department == dept_y and entries(case) == ["create", "assign"]


def test_acknowledging_twice_is_409(client, assigned_case, dept_x_user):
    client.force_login(dept_x_user)
    assert post(client, "acknowledge", assigned_case).status_code == 302
    assert post(client, "acknowledge", assigned_case).status_code == 409
    assert entries(assigned_case).count("acknowledge") == 1


def test_get_on_an_action_url_is_not_allowed(client, assigned_case, dept_x_user):
    client.force_login(dept_x_user)
    assert client.get(reverse("cases:acknowledge", args=[assigned_case.pk])).status_code == 405


# -- bad uploads: a Chinese message, no ledger entry, no stored file --------------------------


def _no_change(case):
    assert reload(case).state == State.ASSIGNED
    assert entries(case) == ["create", "assign"]
    assert not Evidence.objects.filter(case=case).exists()


def test_resolve_without_result_or_files_is_refused(client, assigned_case, dept_x_user):
    client.force_login(dept_x_user)
    response = post(client, "resolve", assigned_case, {"result": "", "evidence": []})
    assert response.status_code == 400
    body = response.content.decode()
    assert "必填" in body and "请至少上传一个佐证材料文件" in body
    _no_change(assigned_case)


def test_executable_renamed_pdf_is_refused(client, assigned_case, dept_x_user):
    client.force_login(dept_x_user)
    fake = SimpleUploadedFile("说明.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, content_type="application/pdf")
    response = post(client, "resolve", assigned_case, {"result": "已解决", "evidence": [fake]})
    assert response.status_code == 400
    assert "不是允许的文件类型" in response.content.decode()
    _no_change(assigned_case)


def test_oversized_file_is_refused(client, assigned_case, dept_x_user, settings):
    settings.EVIDENCE_MAX_BYTES = 100
    client.force_login(dept_x_user)
    big = SimpleUploadedFile("大文件.pdf", PDF_BYTES + b"%" * 200, content_type="application/pdf")
    response = post(client, "resolve", assigned_case, {"result": "已解决", "evidence": [big]})
    assert response.status_code == 400
    assert "过大" in response.content.decode()
    _no_change(assigned_case)


def test_hidden_or_path_like_file_name_is_refused(client, assigned_case, dept_x_user):
    client.force_login(dept_x_user)
    response = post(client, "resolve", assigned_case, {"result": "已解决", "evidence": [pdf_file("..evil.pdf")]})
    assert response.status_code == 400
    assert "看起来像路径" in response.content.decode()
    _no_change(assigned_case)


def test_directories_in_an_uploaded_name_never_reach_storage(client, assigned_case, dept_x_user):
    client.force_login(dept_x_user)
    response = post(
        client, "resolve", assigned_case, {"result": "已解决", "evidence": [pdf_file("../../etc/说明.pdf")]}
    )
    # Django's upload parser keeps only the last path component; the stored name is generated.
    assert response.status_code == 302
    item = Evidence.objects.get(case=assigned_case)
    assert item.original_name == "说明.pdf"
    assert item.file.name.startswith("evidence/") and ".." not in item.file.name
