"""A client written from SPEC §6–8 alone: token auth, only HTTP calls, the SPEC's paths, bodies and shapes.

It imports ledgers (Chinese and English headers, GB18030), routes and moves cases as each role,
registers notices, reads the inbox and the scores, and checks section three of the scoresheet on a
small year whose points are known by construction.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cases.credit_code import check_character
from cases.users import create_user
from tests.conftest import PDF_BYTES

pytestmark = pytest.mark.django_db

ZH_HEADER = [
    "编号",
    "县区代码",
    "企业名称",
    "统一社会信用代码",
    "问题类别",
    "反映渠道",
    "问题内容",
    "受理时间",
    "责任单位",
    "交办时间",
    "办理时限",
    "办理状态",
    "办结时间",
    "办理结果",
    "佐证材料",
]
EN_HEADER = [
    "ref",
    "region",
    "enterprise",
    "credit_code",
    "category",
    "channel",
    "description",
    "received_at",
    "department",
    "assigned_at",
    "due_date",
    "state",
    "closed_at",
    "result",
    "evidence",
]
CASE_FIELDS = {
    "id",
    "number",
    "region",
    "state",
    "category",
    "department",
    "received_at",
    "due_date",
    "due_date_provisional",
    "closed_at",
    "on_time",
}
LEDGER_FIELDS = {
    "seq",
    "action",
    "from_state",
    "to_state",
    "actor",
    "occurred_at",
    "source",
    "payload",
    "prev_hash",
    "hash",
}
NOTICE_FIELDS = {"id", "region", "period", "status", "issued_on", "offline", "groups", "figures", "departments"}
FIGURE_FIELDS = {"received", "assigned", "resolved", "explained", "open", "on_time_rate", "overdue", "supervised"}
NOTIFICATION_FIELDS = {"id", "kind", "case", "case_number", "message", "created_at", "read_at"}
ALL_GROUPS = ["city_office", "local_leader", "department_leader"]
DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
RATE = re.compile(r"^\d\.\d{4}$")


def credit_code(n: int) -> str:
    first17 = f"91411500{n:09d}"
    return first17 + check_character(first17)


def client_for(user) -> APIClient:
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def pdf(name="办理情况说明.pdf"):
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def csv_upload(header, rows, *, encoding="utf-8", name="ledger.csv"):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode(encoding), content_type="text/csv")


def post_import(client, header, rows, *, dry_run, encoding="utf-8"):
    return client.post(
        "/api/v1/imports/",
        {"file": csv_upload(header, rows, encoding=encoding), "dry_run": "true" if dry_run else "false"},
        format="multipart",
    )


@pytest.fixture
def users(db):
    made = {
        "city": create_user("c_city", role="city_office")[0],
        "county": create_user("c_county", role="county_office", region="411502")[0],
        "other_county": create_user("c_county2", role="county_office", region="411503")[0],
        "assessor": create_user("c_assessor", role="assessor")[0],
    }
    return made


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# -- import ----------------------------------------------------------------------------------


def zh_rows():
    return [
        [
            "CT-001",
            "411502",
            "信阳契约测试纺织有限公司",
            credit_code(1),
            "用工对接",
            "热线电话",
            "季节性用工缺口约80人",
            "2025-03-13 09:36",
            "浉河区契约测试局",
            "2025-03-13 14:00",
            "",
            "已解决",
            "2025-03-15 15:30",
            "已协调解决",
            "办理情况说明1.pdf；会议纪要2.pdf",
        ],
        [
            "CT-002",
            "411502",
            "信阳契约测试茶业有限公司",
            credit_code(2),
            "银企对接",
            "网络平台",
            "流动资金贷款续贷审批周期过长",
            "2025-04-01",
            "浉河区契约测试局",
            "2025-04-01 10:00",
            "",
            "已交办",
            "",
            "",
            "",
        ],
        [
            "CT-003",
            "411502",
            "信阳契约测试机械有限公司",
            credit_code(3),
            "行政审批",
            "走访",
            "厂房扩建规划许可办理缓慢",
            "2025-05-06 09:00",
            "",
            "",
            "",
            "已受理",
            "",
            "",
            "",
        ],
        [
            "CT-004",
            "411502",
            "信阳契约测试建材有限公司",
            credit_code(4),
            "政策落实",
            "来信来函",
            "技改补贴未兑现",
            "2025-06-02 09:00",
            "浉河区契约测试局",
            "2025-06-02 11:00",
            "2025-06-09",
            "已解释答复",
            "2025-06-05 16:00",
            "经核查不属本单位职责，已书面答复",
            "答复函.pdf",
        ],
    ]


def en_rows():
    return [
        [
            "CT-101",
            "411502",
            "Xinyang Contract Foods Co.",
            credit_code(101),
            "market",
            "online",
            "market access",
            "2025-07-01 09:00",
            "浉河区契约测试局",
            "2025-07-01 15:00",
            "",
            "resolved",
            "2025-07-03 10:00",
            "done",
            "doc-101.pdf",
        ],
        [
            "CT-102",
            "411502",
            "Xinyang Contract Steel Co.",
            credit_code(102),
            "finance",
            "hotline",
            "loan",
            "2025-07-02",
            "",
            "",
            "",
            "received",
            "",
            "",
            "",
        ],
    ]


def test_import_dry_run_then_real_then_again_changes_nothing(users):
    county = client_for(users["county"])

    dry = post_import(county, ZH_HEADER, zh_rows(), dry_run=True, encoding="gb18030")
    assert dry.status_code == 200, dry.content
    body = dry.json()
    assert {"created", "unchanged", "departments_created", "errors"} <= set(body)
    assert body["created"] == 4 and body["unchanged"] == 0 and body["errors"] == []
    assert any(d["name"] == "浉河区契约测试局" for d in body["departments_created"])
    assert county.get("/api/v1/cases/", {"region": "411502"}).json()["count"] == 0

    real = post_import(county, ZH_HEADER, zh_rows(), dry_run=False, encoding="gb18030")
    assert real.status_code == 200, real.content
    assert real.json()["created"] == 4 and real.json()["errors"] == []
    assert county.get("/api/v1/cases/", {"region": "411502"}).json()["count"] == 4

    again = post_import(county, ZH_HEADER, zh_rows(), dry_run=False, encoding="gb18030")
    assert again.status_code == 200, again.content
    assert again.json()["created"] == 0 and again.json()["unchanged"] == 4
    assert again.json()["departments_created"] == []

    english = post_import(county, EN_HEADER, en_rows(), dry_run=False)
    assert english.status_code == 200, english.content
    assert english.json()["created"] == 2

    listed = county.get("/api/v1/cases/", {"region": "浉河区", "page_size": 100}).json()
    by_state = sorted(case["state"] for case in listed["results"])
    assert by_state == ["assigned", "explained", "received", "received", "resolved", "resolved"]

    # The imported history is in the ledger, marked source=import, at the file's times.
    resolved = next(
        c for c in listed["results"] if c.get("ref") == "CT-001" or c["received_at"].startswith("2025-03-13")
    )
    ledger = county.get(f"/api/v1/cases/{resolved['id']}/ledger/")
    assert ledger.status_code == 200
    entries = ledger.json()
    assert isinstance(entries, list) and entries
    for entry in entries:
        assert LEDGER_FIELDS <= set(entry)
        assert entry["source"] == "import"
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1)) or [e["seq"] for e in entries] == list(
        range(len(entries))
    )
    assert dt.datetime.fromisoformat(entries[0]["occurred_at"]) == dt.datetime.fromisoformat(
        "2025-03-13T09:36:00+08:00"
    )
    assert dt.datetime.fromisoformat(entries[-1]["occurred_at"]) == dt.datetime.fromisoformat(
        "2025-03-15T15:30:00+08:00"
    )
    assert entries[-1]["to_state"] == "resolved"
    assert entries[1]["prev_hash"] == entries[0]["hash"]


def test_import_errors_are_listed_by_row_and_column_and_nothing_is_written(users):
    county = client_for(users["county"])
    rows = zh_rows()
    rows[1][3] = "91411500000000002X"  # wrong check character
    rows[2][4] = "no-such-category"
    real = post_import(county, ZH_HEADER, rows, dry_run=False)
    assert real.status_code == 400
    errors = real.json()["errors"]
    for error in errors:
        assert set(error) >= {"row", "column", "message"} and error["message"]
    # The column is named as the file names it (here the Chinese header).
    assert {(e["row"], e["column"]) for e in errors} == {(3, "统一社会信用代码"), (4, "问题类别")}
    assert county.get("/api/v1/cases/").json()["count"] == 0

    dry = post_import(county, ZH_HEADER, rows, dry_run=True)
    assert dry.status_code == 200 and len(dry.json()["errors"]) == len(errors)

    department = client_for(
        create_user("c_dept0", role="department", department=_department("411502", "浉河区某局"))[0]
    )
    assert post_import(department, ZH_HEADER, zh_rows(), dry_run=True).status_code == 403


def _department(region_code, name):
    from cases.models import Department, Region

    return Department.objects.create(name=name, region=Region.objects.get(code=region_code))


# -- departments, cases and transitions ------------------------------------------------------


def new_case_body(region="411502", n=7, **changes):
    body = {
        "region": region,
        "enterprise": {"name": f"信阳契约企业{n}有限公司", "credit_code": credit_code(n), "size": "规模以上"},
        "category": "labour",
        "channel": "hotline",
        "description": "季节性用工缺口约80人",
        "contact_name": "张三",
        "contact_phone": "13800000000",
    }
    body.update(changes)
    return body


def test_departments_cases_and_every_transition_by_the_right_and_wrong_roles(users, django_capture_on_commit_callbacks):
    county, other = client_for(users["county"]), client_for(users["other_county"])
    city = client_for(users["city"])

    made = county.post("/api/v1/departments/", {"name": "浉河区契约工信局", "region": "411502"}, format="json")
    assert made.status_code == 201, made.content
    assert {"id", "name", "region"} <= set(made.json()) and made.json()["region"] == "411502"
    dept_id = made.json()["id"]
    second = city.post("/api/v1/departments/", {"name": "浉河区契约人社局", "region": "浉河区"}, format="json")
    assert second.status_code == 201
    listed = county.get("/api/v1/departments/", {"region": "411502"})
    assert listed.status_code == 200
    assert {d["name"] for d in listed.json()} >= {"浉河区契约工信局", "浉河区契约人社局"}
    assert all({"id", "name", "region"} <= set(d) for d in listed.json())
    assert county.post("/api/v1/departments/", {"region": "411502"}, format="json").json().keys() == {"name"}

    from cases.models import Department

    dept = create_user("c_dept", role="department", department=Department.objects.get(pk=dept_id))[0]
    dept2 = create_user("c_dept2", role="department", department=Department.objects.get(pk=second.json()["id"]))[0]
    d1, d2 = client_for(dept), client_for(dept2)

    # Create: region as code and as name; received_at optional.
    created = county.post("/api/v1/cases/", new_case_body(), format="json")
    assert created.status_code == 201, created.content
    case = created.json()
    assert CASE_FIELDS <= set(case)
    assert case["state"] == "received" and case["region"] == "411502" and case["department"] is None
    assert re.fullmatch(r"411502-\d{4}-\d{5}", case["number"])
    by_name = county.post(
        "/api/v1/cases/",
        new_case_body(
            region="浉河区", n=8, category="用工对接", channel="热线电话", received_at="2026-01-05T09:00:00+08:00"
        ),
        format="json",
    )
    assert by_name.status_code == 201, by_name.content
    assert by_name.json()["region"] == "411502" and by_name.json()["received_at"].startswith("2026-01-05T09:00")
    bad = county.post(
        "/api/v1/cases/",
        new_case_body(enterprise={"name": "x", "credit_code": "914115000000000011", "size": "其他"}),
        format="json",
    )
    assert bad.status_code == 400 and list(bad.json()) == ["enterprise"]
    assert all(isinstance(message, str) for message in bad.json()["enterprise"])  # {"field": ["…"]}
    not_an_object = county.post("/api/v1/cases/", [new_case_body()], format="json")
    assert not_an_object.status_code == 400 and list(not_an_object.json()) == ["detail"]
    future = county.post("/api/v1/cases/", new_case_body(received_at="2099-01-01T00:00:00+08:00"), format="json")
    assert future.status_code == 400 and "received_at" in future.json()
    assert d1.post("/api/v1/cases/", new_case_body(), format="json").status_code == 403
    assert other.post("/api/v1/cases/", new_case_body(), format="json").status_code == 404

    url = f"/api/v1/cases/{case['id']}/"
    assert county.get(url).status_code == 200
    assert other.get(url).status_code == 404 and "detail" in other.get(url).json()
    assert d1.get(url).status_code == 404

    # assign
    assert other.post(url + "assign/", {"department": dept_id}, format="json").status_code == 404
    assert county.post(url + "assign/", {}, format="json").json().keys() == {"department"}
    assert county.post(url + "acknowledge/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):  # the inbox is written after the commit
        assigned = county.post(url + "assign/", {"department": dept_id, "complex": False}, format="json")
    assert assigned.status_code == 200, assigned.content
    assert assigned.json()["state"] == "assigned" and assigned.json()["department"] == dept_id
    assert assigned.json()["due_date"]
    assert d1.post(url + "assign/", {"department": dept_id}, format="json").status_code == 403
    assert d2.post(url + "acknowledge/").status_code == 404

    # acknowledge, return, reassign
    assert d1.post(url + "acknowledge/").status_code == 200
    assert d1.post(url + "return/", {}, format="json").json().keys() == {"reason"}
    returned = d1.post(
        url + "return/", {"reason": "不属本单位职责", "suggested_department": "浉河区契约人社局"}, format="json"
    )
    assert returned.status_code == 200 and returned.json()["state"] == "received"
    # The department that held the case moments ago lost it to the return: a race answer (409), not 403.
    late = d1.post(url + "resolve/", {"result": "x", "evidence": pdf()}, format="multipart")
    assert late.status_code == 409 and late.json() == {"detail": "该问题已被他人处理，请刷新。"}
    assert county.post(url + "reassign/", {"department": dept_id}, format="json").status_code == 409
    assert (
        county.post(url + "assign/", {"department": second.json()["id"], "complex": True}, format="json").status_code
        == 200
    )
    again = county.post(url + "reassign/", {"department": dept_id}, format="json")
    assert again.status_code == 200 and again.json()["department"] == dept_id

    # extension
    assert county.post(url + "approve-extension/", {}, format="json").status_code == 409
    assert d1.post(url + "request-extension/", {"reason": "需协调"}, format="json").json().keys() == {"days"}
    asked = d1.post(url + "request-extension/", {"reason": "需协调多部门", "days": 3}, format="json")
    assert asked.status_code == 200, asked.content
    assert d1.post(url + "approve-extension/", {}, format="json").status_code == 403
    before = asked.json()["due_date"]
    approved = county.post(url + "approve-extension/", {"note": "同意"}, format="json")
    assert approved.status_code == 200 and approved.json()["due_date"] > before
    assert county.post(url + "reject-extension/", {}, format="json").status_code == 409
    d1.post(url + "request-extension/", {"reason": "再次延期", "days": 2}, format="json")
    assert county.post(url + "reject-extension/", {}, format="json").status_code == 200

    # resolve (multipart, evidence required), follow-up, reopen, explain without redirect_to
    assert county.post(url + "reopen/", {"reason": "x"}, format="json").status_code == 409
    assert county.post(url + "follow-up/", {"satisfaction": "satisfied", "note": ""}, format="json").status_code == 409
    missing = d1.post(url + "resolve/", {"result": "已协调解决"}, format="multipart")
    assert missing.status_code == 400 and missing.json().keys() == {"evidence"}
    resolved = d1.post(
        url + "resolve/", {"result": "已协调解决", "evidence": [pdf(), pdf("会议纪要.pdf")]}, format="multipart"
    )
    assert resolved.status_code == 200, resolved.content
    assert resolved.json()["state"] == "resolved" and resolved.json()["closed_at"]
    assert resolved.json()["on_time"] is True
    assert d1.post(url + "resolve/", {"result": "再次", "evidence": pdf()}, format="multipart").status_code == 409
    assert d1.post(url + "follow-up/", {"satisfaction": "dissatisfied", "note": "x"}, format="json").status_code == 403
    assert county.post(url + "follow-up/", {"satisfaction": "bogus", "note": ""}, format="json").json().keys() == {
        "satisfaction"
    }
    followed = county.post(url + "follow-up/", {"satisfaction": "dissatisfied", "note": "企业不满意"}, format="json")
    assert followed.status_code == 200, followed.content
    assert county.post(url + "reopen/", {}, format="json").json().keys() == {"reason"}
    reopened = county.post(url + "reopen/", {"reason": "企业不满意，重办"}, format="json")
    assert reopened.status_code == 200 and reopened.json()["state"] == "assigned"
    no_basis = d1.post(url + "explain/", {"result": "已书面答复", "evidence": pdf("答复函.pdf")}, format="multipart")
    assert no_basis.status_code == 400 and no_basis.json().keys() == {"policy_basis"}
    explained = d1.post(
        url + "explain/",
        {
            "result": "已书面答复并告知向市场监管局反映",
            "policy_basis": "《优化营商环境条例》第十条",
            "evidence": pdf("答复函.pdf"),
        },
        format="multipart",
    )
    assert explained.status_code == 200, explained.content
    assert explained.json()["state"] == "explained"

    ledger = county.get(url + "ledger/").json()
    assert all(LEDGER_FIELDS <= set(entry) and entry["source"] == "api" for entry in ledger)
    assert [e["to_state"] for e in ledger][-1] == "explained"
    for earlier, later in zip(ledger, ledger[1:], strict=False):
        assert later["prev_hash"] == earlier["hash"]

    # the list and its filters
    page = county.get(
        "/api/v1/cases/",
        {
            "region": "411502",
            "state": "explained",
            "department": dept_id,
            "received_from": "2026-01-01",
            "received_to": "2026-12-31",
        },
    )
    assert page.status_code == 200
    assert set(page.json()) == {"count", "count_capped", "next", "previous", "results"}
    assert [c["id"] for c in page.json()["results"]] == [case["id"]]
    # The case logged on 2026-01-05 is still unrouted and long past its due date.
    overdue = county.get("/api/v1/cases/", {"overdue": "true"}).json()
    assert [c["id"] for c in overdue["results"]] == [by_name.json()["id"]]
    assert other.get("/api/v1/cases/", {"region": "411502"}).json()["count"] == 0
    assert county.get("/api/v1/cases/", {"state": "nonsense"}).status_code == 400

    # the inbox
    inbox = d1.get("/api/v1/notifications/", {"unread": "true"})
    assert inbox.status_code == 200
    items = inbox.json()
    assert items and all(NOTIFICATION_FIELDS <= set(item) for item in items)
    assigned_note = next(item for item in items if item["kind"] == "assigned")
    assert assigned_note["case"] == case["id"] and assigned_note["case_number"] == case["number"]
    read = d1.post(f"/api/v1/notifications/{assigned_note['id']}/read/")
    assert read.status_code == 200 and read.json()["read_at"]
    assert assigned_note["id"] not in [i["id"] for i in d1.get("/api/v1/notifications/", {"unread": "true"}).json()]
    assert d2.post(f"/api/v1/notifications/{assigned_note['id']}/read/").status_code == 404


def test_unauthenticated_and_bad_tokens_are_refused():
    client = APIClient()
    for path in (
        "/api/v1/cases/",
        "/api/v1/departments/",
        "/api/v1/notices/",
        "/api/v1/notice-schedules/",
        "/api/v1/notifications/",
        "/api/v1/scores/2025/",
    ):
        response = client.get(path)
        assert response.status_code == 401 and list(response.json()) == ["detail"], path
    client.credentials(HTTP_AUTHORIZATION="Token nope")
    for path in (
        "/api/v1/cases/",
        "/api/v1/departments/",
        "/api/v1/notices/",
        "/api/v1/notice-schedules/",
        "/api/v1/notifications/",
        "/api/v1/scores/2025/",
    ):
        response = client.get(path)
        assert response.status_code == 401 and list(response.json()) == ["detail"], path


# -- notices ---------------------------------------------------------------------------------


def test_notice_schedules_drafts_issue_and_offline_registration(users, mailoutbox, django_capture_on_commit_callbacks):
    county, other = client_for(users["county"]), client_for(users["other_county"])
    recipients = [
        {"group": "city_office", "name": "市服务办", "email": "city@example.cn"},
        {"group": "local_leader", "name": "王副区长", "email": "leader@example.cn"},
        {"group": "department_leader", "name": "各局领导", "email": "depts@example.cn"},
    ]
    saved = county.post(
        "/api/v1/notice-schedules/",
        {"region": "411502", "frequency": "monthly", "recipients": recipients},
        format="json",
    )
    assert saved.status_code in (200, 201), saved.content
    assert saved.json()["region"] == "411502" and saved.json()["frequency"] == "monthly"
    assert len(saved.json()["recipients"]) == 3
    assert all(set(r) == {"group", "name", "email"} for r in saved.json()["recipients"])
    assert (
        other.post(
            "/api/v1/notice-schedules/",
            {"region": "411502", "frequency": "monthly", "recipients": recipients},
            format="json",
        ).status_code
        == 404
    )
    bad = county.post(
        "/api/v1/notice-schedules/",
        {"region": "411502", "frequency": "weekly", "recipients": recipients},
        format="json",
    )
    assert bad.status_code == 400 and "frequency" in bad.json()
    schedules = county.get("/api/v1/notice-schedules/", {"region": "411502"}).json()
    schedules = schedules["results"] if isinstance(schedules, dict) else schedules
    assert [s["region"] for s in schedules] == ["411502"]

    post_import(county, ZH_HEADER, zh_rows(), dry_run=False)

    drafted = county.post("/api/v1/notices/", {"region": "411502", "period": "2025-06"}, format="json")
    assert drafted.status_code == 201, drafted.content
    notice = drafted.json()
    assert NOTICE_FIELDS <= set(notice)
    assert notice["status"] == "drafted" and notice["offline"] is False and notice["period"] == "2025-06"
    assert FIGURE_FIELDS <= set(notice["figures"])
    figures = notice["figures"]
    assert figures["received"] == 1 and figures["assigned"] == 1 and figures["explained"] == 1
    assert figures["resolved"] == 0 and figures["open"] == 2  # CT-002 assigned, CT-003 received
    assert isinstance(figures["overdue"], list) and all(isinstance(n, str) for n in figures["overdue"])
    assert isinstance(figures["supervised"], list)
    assert all(set(d) >= {"name", "received", "closed", "on_time", "overdue"} for d in notice["departments"])
    assert county.post("/api/v1/notices/", {"region": "411502", "period": "2025-13"}, format="json").json().keys() == {
        "period"
    }

    with django_capture_on_commit_callbacks(execute=True):
        issued = county.post(f"/api/v1/notices/{notice['id']}/issue/")
    assert issued.status_code == 200, issued.content
    assert issued.json()["status"] == "issued" and issued.json()["issued_on"]
    assert set(issued.json()["groups"]) == set(ALL_GROUPS)
    assert {m.to[0] for m in mailoutbox} >= {"city@example.cn", "leader@example.cn", "depts@example.cn"}
    sent = len(mailoutbox)
    # Issuing again only retries recipients not yet reached: nobody gets it twice.
    assert county.post(f"/api/v1/notices/{notice['id']}/issue/").json()["status"] == "issued"
    assert len(mailoutbox) == sent

    offline = county.post(
        "/api/v1/notices/",
        {
            "offline": "true",
            "region": "411502",
            "period": "2025-07",
            "issued_on": "2025-08-05",
            "groups": ALL_GROUPS,
            "document": pdf("通报扫描件.pdf"),
        },
        format="multipart",
    )
    assert offline.status_code == 201, offline.content
    assert offline.json()["status"] == "offline" and offline.json()["offline"] is True
    assert offline.json()["issued_on"] == "2025-08-05"
    no_scan = county.post(
        "/api/v1/notices/",
        {"offline": "true", "region": "411502", "period": "2025-08", "issued_on": "2025-09-05", "groups": ALL_GROUPS},
        format="multipart",
    )
    assert no_scan.status_code == 400 and no_scan.json().keys() == {"document"}

    listed = county.get("/api/v1/notices/", {"region": "411502", "year": "2025"})
    assert listed.status_code == 200
    body = listed.json()
    assert isinstance(body, list), "SPEC §8: GET /api/v1/notices/ answers a list of notices"
    assert [n["period"] for n in body] == ["2025-06", "2025-07"]
    assert other.get("/api/v1/notices/", {"region": "411502"}).json() == []
    assert other.get(f"/api/v1/notices/{notice['id']}/").status_code == 404
    assert county.get(f"/api/v1/notices/{notice['id']}/").json()["id"] == notice["id"]

    inbox = county.get("/api/v1/notifications/", {"unread": "true"}).json()
    assert any(item["kind"] == "notice_issued" and item["case"] is None for item in inbox)


# -- scoring ---------------------------------------------------------------------------------

YEAR = 2025


def timeliness_rows(region: str, counted: int, on_time: int, *, start: int, lacking_evidence: int = 0):
    """``counted`` resolved cases of ``region`` in 2025, the first ``on_time`` closed before their due date."""
    rows = []
    for i in range(counted):
        day = dt.date(YEAR, 3, 3) + dt.timedelta(days=7 * (i % 30))
        due = day + dt.timedelta(days=7)
        closed = day + dt.timedelta(days=2) if i < on_time else due + dt.timedelta(days=3)
        evidence = "" if i < lacking_evidence else f"说明{i}.pdf"
        rows.append(
            [
                f"SC-{region}-{i:03d}",
                region,
                f"信阳计分企业{start + i}有限公司",
                credit_code(start + i),
                "market",
                "online",
                "产品销路",
                f"{day} 09:00",
                "计分测试局",
                f"{day} 11:00",
                str(due),
                "resolved",
                f"{closed} 16:00",
                "已解决",
                evidence,
            ]
        )
    return rows


def test_section_three_points_for_a_constructed_year(users):
    city, assessor = client_for(users["city"]), client_for(users["assessor"])
    rows = (
        timeliness_rows("411521", 20, 19, start=1000)
        + timeliness_rows("411522", 20, 17, start=2000, lacking_evidence=1)
        + timeliness_rows("411523", 50, 41, start=3000)
    )
    # 411524: the ledger as it stood at the end of the cutoff day (12-20) counts, not later closings.
    late_rows = [
        [
            "CUT-1",
            "411524",
            "信阳截止企业1有限公司",
            credit_code(4001),
            "market",
            "online",
            "销路",
            "2025-11-03 09:00",
            "计分测试局",
            "2025-11-03 10:00",
            "2025-11-10",
            "resolved",
            "2025-11-07 10:00",
            "已解决",
            "说明.pdf",
        ],
        [
            "CUT-2",
            "411524",
            "信阳截止企业2有限公司",
            credit_code(4002),
            "market",
            "online",
            "销路",
            "2025-12-10 09:00",
            "计分测试局",
            "2025-12-10 10:00",
            "2025-12-19",
            "resolved",
            "2025-12-22 10:00",
            "已解决",
            "说明.pdf",
        ],
        [
            "CUT-3",
            "411524",
            "信阳截止企业3有限公司",
            credit_code(4003),
            "market",
            "online",
            "销路",
            "2025-12-18 09:00",
            "计分测试局",
            "2025-12-18 10:00",
            "2025-12-30",
            "resolved",
            "2025-12-22 10:00",
            "已解决",
            "说明.pdf",
        ],
        [
            "CUT-4",
            "411524",
            "信阳截止企业4有限公司",
            credit_code(4004),
            "market",
            "online",
            "销路",
            "2025-12-22 09:00",
            "计分测试局",
            "2025-12-22 10:00",
            "2025-12-29",
            "resolved",
            "2025-12-23 10:00",
            "已解决",
            "说明.pdf",
        ],
    ]
    imported = post_import(city, EN_HEADER, rows + late_rows, dry_run=False)
    assert imported.status_code == 200, imported.content
    assert imported.json()["created"] == 94
    numbers = {
        ref: city.get("/api/v1/cases/", {"ref": ref}).json()["results"][0]["number"] for ref in ("CUT-2", "CUT-3")
    }

    recipients = [{"group": g, "name": g, "email": f"{g}@example.cn"} for g in ALL_GROUPS]
    for region in ("411521", "411522"):
        assert city.post(
            "/api/v1/notice-schedules/",
            {"region": region, "frequency": "monthly", "recipients": recipients},
            format="json",
        ).status_code in (200, 201)
    for month in range(1, 12):  # periods ending on or before 12-20: 2025-01 … 2025-11
        issued_on = (dt.date(YEAR, month, 1) + dt.timedelta(days=40)).replace(day=5)
        for region in ("411521", "411522"):
            if region == "411522" and month == 4:
                continue
            answer = city.post(
                "/api/v1/notices/",
                {
                    "offline": "true",
                    "region": region,
                    "period": f"{YEAR}-{month:02d}",
                    "issued_on": str(issued_on),
                    "groups": ALL_GROUPS,
                    "document": pdf("scan.pdf"),
                },
                format="multipart",
            )
            assert answer.status_code == 201, answer.content

    response = assessor.get(f"/api/v1/scores/{YEAR}/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    scores = response.json()
    assert set(scores) == {"year", "cutoff", "rule_set", "regions"}
    assert scores["year"] == YEAR and scores["cutoff"] == f"{YEAR}-12-20" and scores["rule_set"] == "xinyang-2012"
    regions = {r["code"]: r for r in scores["regions"]}
    assert len(regions) == 10
    for region in regions.values():
        assert set(region) == {"code", "name", "rank", "total", "items", "overrides"}
        assert isinstance(region["rank"], int) and DECIMAL.match(region["total"])
        assert set(region["items"]) == {str(n) for n in range(1, 22)}
        assert region["overrides"] == []
        for number, item in region["items"].items():
            assert {"points", "max", "auto"} <= set(item)
            assert DECIMAL.match(item["max"])
            if number in ("13", "14", "15"):
                assert item["auto"] is True and DECIMAL.match(item["points"])
            elif not item["auto"]:
                assert item["points"] is None
    assert regions["411521"]["name"] == "罗山县"

    i15 = {code: regions[code]["items"]["15"] for code in ("411521", "411522", "411523", "411502")}
    assert (i15["411521"]["points"], i15["411521"]["counted"], i15["411521"]["on_time"], i15["411521"]["rate"]) == (
        "4",
        20,
        19,
        "0.9500",
    )
    assert (i15["411522"]["points"], i15["411522"]["rate"], i15["411522"]["rule_gap"]) == ("2", "0.8500", False)
    assert (i15["411523"]["points"], i15["411523"]["rate"], i15["411523"]["rule_gap"]) == ("1", "0.8200", True)
    assert len(i15["411523"]["late"]) == 9 and i15["411523"]["pending"] == []
    assert i15["411502"]["points"] == "0" and i15["411502"]["not_assessable"] is True
    for item in i15.values():
        assert set(item) >= {
            "points",
            "max",
            "auto",
            "counted",
            "on_time",
            "rate",
            "rule_gap",
            "not_assessable",
            "late",
            "pending",
        }

    cut = regions["411524"]["items"]["15"]
    assert (cut["counted"], cut["on_time"], cut["rate"], cut["points"]) == (2, 1, "0.5000", "0")
    assert cut["late"] == [numbers["CUT-2"]] and cut["pending"] == [numbers["CUT-3"]]

    i13 = {code: regions[code]["items"]["13"] for code in ("411521", "411522", "411502")}
    assert (i13["411521"]["points"], i13["411521"]["complete"], i13["411521"]["total"], i13["411521"]["rate"]) == (
        "4",
        20,
        20,
        "1.0000",
    )
    assert (i13["411522"]["points"], i13["411522"]["complete"], i13["411522"]["rate"]) == ("2", 19, "0.9500")
    assert i13["411522"]["incomplete"] == [
        {"number": i13["411522"]["incomplete"][0]["number"], "missing": ["evidence"]}
    ]
    assert i13["411502"]["points"] == "0" and i13["411502"]["total"] == 0

    i14 = {code: regions[code]["items"]["14"] for code in ("411521", "411522", "411523")}
    assert (
        i14["411521"]["points"],
        i14["411521"]["schedule"],
        i14["411521"]["periods_due"],
        i14["411521"]["periods_served"],
        i14["411521"]["missing_periods"],
    ) == ("4", "monthly", 11, 11, [])
    assert (i14["411522"]["points"], i14["411522"]["periods_served"], i14["411522"]["missing_periods"]) == (
        "2",
        10,
        ["2025-04"],
    )
    assert i14["411523"]["points"] == "0" and i14["411523"]["schedule"] is None

    one = assessor.get(f"/api/v1/scores/{YEAR}/", {"cutoff": f"{YEAR}-12-20", "region": "411521"}).json()
    assert [r["code"] for r in one["regions"]] == ["411521"]
    assert assessor.get(f"/api/v1/scores/{YEAR}/", {"cutoff": "nonsense"}).status_code == 400

    # Manual items and overrides.
    item_url = f"/api/v1/scores/{YEAR}/411521/items/"
    manual = assessor.put(item_url + "1/", {"points": "5.5", "note": "资料齐全"}, format="json")
    assert manual.status_code == 200, manual.content
    assert assessor.put(item_url + "1/", {"points": "5.3", "note": ""}, format="json").json().keys() == {"points"}
    assert assessor.put(item_url + "1/", {"points": "99", "note": ""}, format="json").json().keys() == {"points"}
    assert assessor.put(item_url + "15/", {"points": "3"}, format="json").json().keys() == {"note"}
    assert assessor.put(item_url + "2/", {"points": "3", "note": 5}, format="json").json().keys() == {"note"}
    assert client_for(users["county"]).put(item_url + "1/", {"points": "6", "note": ""}, format="json").status_code in (
        403,
        404,
    )
    override = assessor.put(item_url + "15/", {"points": "3", "note": "抽查发现一件办结质量不高"}, format="json")
    assert override.status_code == 200, override.content
    assert (override.json()["points"], override.json()["note"]) == ("3", "抽查发现一件办结质量不高")
    assert (manual.json()["points"], manual.json()["note"]) == ("5.5", "资料齐全")
    after = {r["code"]: r for r in assessor.get(f"/api/v1/scores/{YEAR}/").json()["regions"]}["411521"]
    assert after["items"]["1"]["points"] == "5.5"
    assert after["items"]["15"]["points"] == "3"
    assert len(after["overrides"]) == 1
