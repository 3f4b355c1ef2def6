"""The intake form (受理登记): field errors in Chinese, nothing written on bad input."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, State
from ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db

VALID_CODE = "914115683BJ1XG612H"
NOW = dt.datetime(2025, 9, 30, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def form_data(category, channel, region_a):
    return {
        "region": region_a.pk,
        "enterprise_name": "信阳市羚锐制药股份有限公司",
        "credit_code": VALID_CODE,
        "enterprise_size": "above_scale",
        "contact_name": "李经理",
        "contact_phone": "0376-6200000",
        "category": category.pk,
        "channel": channel.pk,
        "description": "企业反映用工短缺约80人，请求协调专场招聘。",
        "received_at": "2025-09-30T09:15",
    }


@time_machine.travel(NOW, tick=False)
def test_county_office_logs_a_case_and_sees_its_due_date(client, county_a, form_data):
    client.force_login(county_a)
    form = client.get(reverse("cases:intake"))
    assert form.status_code == 200
    body = form.content.decode()
    assert "统一社会信用代码" in body and 'type="datetime-local"' in body
    assert 'value="2025-09-30T10:00"' in body  # received_at defaults to now, local time
    response = client.post(reverse("cases:intake"), form_data)
    assert response.status_code == 302
    case = Case.objects.get()
    assert response["Location"] == reverse("cases:detail", args=[case.pk])
    assert case.state == State.RECEIVED and case.number == "411502-2025-00001"
    assert timezone.localtime(case.received_at).strftime("%Y-%m-%d %H:%M") == "2025-09-30 09:15"
    # SPEC §4: received 2025-09-30, 5 working days → 2025-10-14 (National Day week skipped).
    assert case.due_date == dt.date(2025, 10, 14)
    assert LedgerEntry.objects.filter(case=case, action="create").count() == 1


@time_machine.travel(NOW, tick=False)
def test_county_office_cannot_log_for_another_region(client, county_a, form_data, region_b):
    client.force_login(county_a)
    form_data["region"] = region_b.pk  # the field is fixed to the office's own region
    assert client.post(reverse("cases:intake"), form_data).status_code == 302
    assert Case.objects.get().region.code == "411502"


@time_machine.travel(NOW, tick=False)
def test_city_office_chooses_the_region(client, city_user, form_data, region_b):
    client.force_login(city_user)
    form_data["region"] = region_b.pk
    assert client.post(reverse("cases:intake"), form_data).status_code == 302
    assert Case.objects.get().number.startswith("411503-2025-")


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("credit_code", "914115683BJ1XG6120", "校验位不正确"),
        ("credit_code", "91411568", "18"),
        ("credit_code", "", "必填"),
        ("enterprise_name", "", "必填"),
        ("description", "   ", "必填"),
        ("category", "", "必填"),
        ("received_at", "2025-09-30T11:00", "不能晚于当前时间"),
        ("received_at", "昨天", "输入一个有效的日期"),
    ],
)
@time_machine.travel(NOW, tick=False)
def test_bad_input_shows_a_chinese_field_error_and_writes_nothing(client, county_a, form_data, field, value, message):
    client.force_login(county_a)
    form_data[field] = value
    response = client.post(reverse("cases:intake"), form_data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "请更正以下错误" in body and message in body
    assert not Case.objects.exists() and not LedgerEntry.objects.exists()


@pytest.mark.parametrize("user", ["dept_x_user", "assessor"])
def test_only_offices_may_log_cases(client, request, user, form_data):
    client.force_login(request.getfixturevalue(user))
    assert client.get(reverse("cases:intake")).status_code == 403
    response = client.post(reverse("cases:intake"), form_data)
    assert response.status_code == 403 and "只有县区服务办或市服务办可以登记案件" in response.content.decode()
    assert not Case.objects.exists()
