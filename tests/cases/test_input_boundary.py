"""Issue 10, deliverable 1: one input boundary (cases.input_rules) for forms, the API, the
services and import rows — the same receipt range and the same text rule on every path."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
import time_machine
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from cases import input_rules, services
from cases.errors import InvalidInput
from cases.forms import IntakeForm, ReasonForm
from cases.importing import run_import
from cases.models import Case
from ledger.models import LedgerEntry
from tests.imports.conftest import HEADER, row

pytestmark = pytest.mark.django_db

BEIJING = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2025, 9, 30, 10, 0, tzinfo=BEIJING)
VALID_CODE = "914115683BJ1XG612H"


# -- the rules themselves ----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["\x00", "a\x01b", "\x1b[31m", "x\x7f", "\x85", "\ud800", "\uffff"])
def test_control_characters_are_refused_in_any_text(value):
    assert input_rules.text_problem(value) is not None
    assert input_rules.text_problem(value, multiline=True) is not None


@pytest.mark.parametrize("value", ["a\tb", "line\nline", "windows\r\nline"])
def test_tab_and_line_breaks_only_in_long_text(value):
    assert input_rules.text_problem(value) is not None
    assert input_rules.text_problem(value, multiline=True) is None


@given(st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cs"], blacklist_characters="\ufffe\uffff")))
def test_ordinary_text_passes(value):
    assert input_rules.text_problem(value) is None


def test_the_message_is_chinese_and_names_the_character():
    assert input_rules.text_problem("企业\x00名称") == "含有控制字符（第 3 个字符为 NUL），请删除后重试。"


@pytest.mark.parametrize("text, expected", [("1", 1), ("0042", 42), (str(2**63 - 1), 2**63 - 1)])
def test_ids_are_ascii_digits(text, expected):
    assert input_rules.parse_id(text) == expected


@pytest.mark.parametrize("text", ["", "0", "-1", "1.0", " 1", "³", "٣", "１", str(2**63), "9" * 30, None])
def test_anything_else_is_not_an_id(text):
    assert input_rules.parse_id(text) is None


@pytest.mark.parametrize(
    "received, ok",
    [
        (dt.datetime(1999, 12, 31, 23, 59, tzinfo=BEIJING), False),
        (dt.datetime(2000, 1, 1, 0, 0, tzinfo=BEIJING), True),
        (dt.datetime(1, 1, 1, 0, 0, tzinfo=dt.UTC), False),
        (dt.datetime(1899, 6, 1, tzinfo=BEIJING), False),
        (NOW, True),
        (NOW + dt.timedelta(minutes=1), False),
    ],
)
def test_a_receipt_lies_between_2000_and_now(received, ok):
    assert (input_rules.receipt_problem(received, now=NOW) is None) is ok


def test_years_run_from_2000_to_next_year():
    today = dt.date(2026, 11, 29)
    assert input_rules.year_problem(2000, today=today) is None
    assert input_rules.year_problem(2027, today=today) is None
    assert input_rules.year_problem(1999, today=today) is not None
    assert input_rules.year_problem(2028, today=today) is not None


# -- the service ------------------------------------------------------------------------------


@pytest.mark.parametrize("received_at", [dt.datetime(1, 1, 1, tzinfo=dt.UTC), dt.datetime(1899, 1, 1, tzinfo=BEIJING)])
def test_the_service_refuses_a_receipt_before_2000(make_case, received_at):
    with pytest.raises(InvalidInput) as refused:
        make_case(received_at=received_at)
    assert refused.value.field == "received_at"
    assert not Case.objects.exists() and not LedgerEntry.objects.exists()


@pytest.mark.parametrize("field", ["enterprise_name", "description", "contact_name", "contact_phone", "ref"])
def test_the_service_refuses_control_characters(make_case, field):
    with pytest.raises(InvalidInput) as refused:
        make_case(**{field: "信阳\x1b[2J公司"})
    assert refused.value.field == field
    assert not Case.objects.exists()


def test_transition_texts_refuse_control_characters(assigned_case, dept_x_user):
    with pytest.raises(InvalidInput):
        services.return_case(assigned_case, by=dept_x_user, reason="不属于本单位\x00")
    with pytest.raises(InvalidInput):
        services.return_case(assigned_case, by=dept_x_user, reason="不属于本单位", suggested_department="人社\n局")
    assigned_case.refresh_from_db()
    assert assigned_case.state == "assigned"


# -- the intake form --------------------------------------------------------------------------


@pytest.fixture
def intake_data(category, channel, region_a):
    return {
        "region": region_a.pk,
        "enterprise_name": "信阳市羚锐制药股份有限公司",
        "credit_code": VALID_CODE,
        "enterprise_size": "above_scale",
        "contact_name": "李经理",
        "contact_phone": "0376-6200000",
        "category": category.pk,
        "channel": channel.pk,
        "description": "用工短缺。\n请求协调。",
        "received_at": "2025-09-30T09:15",
    }


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("received_at", ["0001-01-01T00:00", "1899-12-31T08:00", "1999-12-31T23:59"])
def test_intake_form_refuses_a_receipt_before_2000(client, county_a, intake_data, received_at):
    client.force_login(county_a)
    response = client.post(reverse("cases:intake"), {**intake_data, "received_at": received_at})
    assert response.status_code == 400  # the form again, with the field's error
    assert "受理时间不能早于 2000-01-01" in response.content.decode()
    assert not Case.objects.exists()


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    "field, value", [("enterprise_name", "信阳\x01公司"), ("description", "用工\x00短缺"), ("contact_name", "李\t经理")]
)
def test_intake_form_refuses_control_characters(client, county_a, intake_data, field, value):
    client.force_login(county_a)
    response = client.post(reverse("cases:intake"), {**intake_data, field: value})
    assert response.status_code == 400
    assert "含有控制字符" in response.content.decode()
    assert not Case.objects.exists()


def test_long_text_forms_accept_line_breaks_and_refuse_escapes():
    assert ReasonForm({"reason": "第一行\r\n第二行\t说明"}).is_valid()
    form = ReasonForm({"reason": "第一行\x1b"})
    assert not form.is_valid() and "含有控制字符" in form.errors["reason"][0]


def test_every_text_field_of_the_intake_form_carries_the_rule(county_a):
    form = IntakeForm(user=county_a)
    for name in ("enterprise_name", "credit_code", "contact_name", "contact_phone", "description"):
        assert any(isinstance(v, input_rules.NoControlCharacters) for v in form.fields[name].validators), name


# -- the API ----------------------------------------------------------------------------------


@pytest.fixture
def api_client(client, city_user):
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.create(user=city_user).key}"
    return client


def _create(api_client, **changes):
    body = {
        "region": "411502",
        "enterprise": {"name": "信阳某公司", "credit_code": VALID_CODE},
        "category": "labour",
        "channel": "hotline",
        "description": "用工短缺",
    }
    body.update(changes)
    return api_client.post("/api/v1/cases/", json.dumps(body), content_type="application/json")


@pytest.mark.parametrize(
    "received_at",
    [
        "0001-01-01T00:00:00+08:00",
        "1899-01-01T00:00:00+08:00",
        "1999-12-31T23:59:59+08:00",
        "2999-01-01T00:00:00+08:00",
    ],
)
def test_api_refuses_a_receipt_outside_2000_to_now(api_client, received_at):
    response = _create(api_client, received_at=received_at)
    assert response.status_code == 400
    assert "received_at" in response.json()
    assert not Case.objects.exists()


def test_api_accepts_the_first_day_of_2000(api_client):
    assert _create(api_client, received_at="2000-01-01T00:00:00+08:00").status_code == 201


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"enterprise": {"name": "\x01\x1b", "credit_code": VALID_CODE}}, "enterprise"),
        ({"description": "用工\x07短缺"}, "description"),
        ({"contact_name": "李\n经理"}, "contact_name"),
        ({"ref": "A\x1fB"}, "ref"),
    ],
)
def test_api_refuses_control_characters_with_a_field_error(api_client, changes, field):
    response = _create(api_client, **changes)
    assert response.status_code == 400
    assert "含有控制字符" in json.dumps(response.json(), ensure_ascii=False)
    assert field in response.json()
    assert not Case.objects.exists()


def test_api_keeps_line_breaks_in_a_description(api_client):
    response = _create(api_client, description="第一行\n第二行\t备注")
    assert response.status_code == 201
    assert response.json()["description"] == "第一行\n第二行\t备注"


def test_api_transition_text_refuses_control_characters(api_client, assigned_case, dept_x_user, client):
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.create(user=dept_x_user).key}"
    response = client.post(
        f"/api/v1/cases/{assigned_case.pk}/return/", {"reason": "退回\x00"}, content_type="application/json"
    )
    assert response.status_code == 400
    response = client.post(f"/api/v1/cases/{assigned_case.pk}/return/", {"reason": "退回\x02"})  # a form body
    assert response.status_code == 400 and "reason" in response.json()


# -- import rows ------------------------------------------------------------------------------


def _import(write_csv, user, rows):
    summary = run_import(write_csv(rows), by=user, dry_run=False)
    return {(e["row"], e["column"]) for e in summary["errors"]}, summary


@pytest.fixture
def write_csv(tmp_path):
    def write(rows):
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(HEADER)
        writer.writerows(rows)
        path = tmp_path / "ledger.csv"
        path.write_bytes(buffer.getvalue().encode("utf-8"))
        return path

    return write


@pytest.mark.parametrize(
    "column, value",
    [("企业名称", "信阳\x01公司"), ("问题内容", "用工\x1b[0m"), ("编号", "A\tB"), ("责任单位", "人社\x08局")],
)
def test_import_rows_refuse_control_characters_like_the_api(write_csv, county_a, column, value):
    found, summary = _import(write_csv, county_a, [row(**{column: value})])
    assert (2, column) in found, summary
    assert any("含有控制字符" in e["message"] for e in summary["errors"])
    assert not Case.objects.exists()


def test_import_rows_keep_line_breaks_in_long_text(write_csv, county_a):
    found, summary = _import(write_csv, county_a, [row(问题内容="第一行\n第二行", 办理结果="已解决\n见附件")])
    assert not found, summary
    assert Case.objects.get().description == "第一行\n第二行"


@pytest.mark.parametrize("received", ["1899-03-13 09:36", "0001-01-01", "1999-12-31 23:59"])
def test_import_rows_refuse_a_receipt_before_2000(write_csv, county_a, received):
    found, summary = _import(
        write_csv,
        county_a,
        [row(受理时间=received, 交办时间="", 责任单位="", 办理状态="已受理", 办结时间="", 办理结果="")],
    )
    assert (2, "受理时间") in found, summary
    assert any("2000-01-01" in e["message"] for e in summary["errors"])
