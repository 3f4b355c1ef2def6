"""A tired clerk double-clicks 登记: the intake form carries a one-time token, so one case is logged."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from cases.models import Case, IdempotencyKey
from ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 9, 30, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def form_data(category, channel, region_a):
    return {
        "region": region_a.pk,
        "enterprise_name": "信阳市羚锐制药股份有限公司",
        "credit_code": "914115683BJ1XG612H",
        "enterprise_size": "above_scale",
        "contact_name": "李经理",
        "contact_phone": "0376-6200000",
        "category": category.pk,
        "channel": channel.pk,
        "description": "企业反映用工短缺约80人，请求协调专场招聘。",
        "received_at": "2025-09-30T09:15",
    }


def token_of(page: str) -> str:
    return re.search(r'name="submission" value="([0-9a-f]{32})"', page).group(1)


@time_machine.travel(NOW, tick=False)
def test_each_intake_page_carries_a_fresh_token(client, county_a):
    client.force_login(county_a)
    first = token_of(client.get(reverse("cases:intake")).content.decode())
    second = token_of(client.get(reverse("cases:intake")).content.decode())
    assert first != second


@time_machine.travel(NOW, tick=False)
def test_a_double_submit_logs_one_case(client, county_a, form_data):
    client.force_login(county_a)
    form_data["submission"] = token_of(client.get(reverse("cases:intake")).content.decode())
    first = client.post(reverse("cases:intake"), form_data)
    second = client.post(reverse("cases:intake"), form_data)
    case = Case.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == reverse("cases:detail", args=[case.pk])
    assert LedgerEntry.objects.filter(action="create").count() == 1
    page = client.get(second["Location"]).content.decode()
    assert "重复提交未再次登记" in page and case.number in page


@time_machine.travel(NOW, tick=False)
def test_the_same_form_sent_again_with_other_content_logs_nothing_and_offers_a_new_token(client, county_a, form_data):
    client.force_login(county_a)
    token = token_of(client.get(reverse("cases:intake")).content.decode())
    assert client.post(reverse("cases:intake"), dict(form_data, submission=token)).status_code == 302
    changed = dict(form_data, submission=token, description="另一个问题：融资担保难。")
    response = client.post(reverse("cases:intake"), changed)
    assert response.status_code == 409
    page = response.content.decode()
    logged = Case.objects.get()
    assert logged.number in page and "本次未登记任何内容" in page
    assert "融资担保难" in page  # what the clerk typed is kept
    new_token = token_of(page)
    assert new_token != token
    # Sent deliberately once more, it is a new case.
    assert client.post(reverse("cases:intake"), dict(changed, submission=new_token)).status_code == 302
    assert Case.objects.count() == 2


@time_machine.travel(NOW, tick=False)
def test_a_form_with_errors_keeps_its_token_and_its_correction_logs_once(client, county_a, form_data):
    client.force_login(county_a)
    token = token_of(client.get(reverse("cases:intake")).content.decode())
    bad = client.post(reverse("cases:intake"), dict(form_data, submission=token, description=""))
    assert bad.status_code == 400 and token_of(bad.content.decode()) == token
    assert not IdempotencyKey.objects.exists()
    for _ in range(2):
        assert client.post(reverse("cases:intake"), dict(form_data, submission=token)).status_code == 302
    assert Case.objects.count() == 1


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("submission", [None, "", "not-a-token", "Z" * 32])
def test_a_post_without_a_usable_token_still_logs(client, county_a, form_data, submission):
    client.force_login(county_a)
    if submission is not None:
        form_data["submission"] = submission
    assert client.post(reverse("cases:intake"), form_data).status_code == 302
    assert Case.objects.count() == 1 and not IdempotencyKey.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_another_clerk_sending_the_same_token_gets_its_own_case(client, county_a, city_user, form_data):
    client.force_login(county_a)
    token = token_of(client.get(reverse("cases:intake")).content.decode())
    assert client.post(reverse("cases:intake"), dict(form_data, submission=token)).status_code == 302
    client.force_login(city_user)
    assert client.post(reverse("cases:intake"), dict(form_data, submission=token)).status_code == 302
    assert Case.objects.count() == 2
