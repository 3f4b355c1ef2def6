"""The admin is scoped like the UI; cases and ledger entries are read-only there."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases import credit_code, services
from cases.models import Category, Evidence
from ledger.models import LedgerEntry
from tests.conftest import pdf_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_counties(make_case, county_a, county_b, region_b, dept_x, dept_x_user):
    mine = services.assign(make_case(enterprise_name="浉河企业"), by=county_a, department=dept_x)
    services.resolve(mine, by=dept_x_user, result="已解决", evidence=[pdf_file()])
    code = "91411503MA4000001"
    theirs = make_case(
        by=county_b,
        region=region_b,
        enterprise_name="平桥企业",
        credit_code_value=code + credit_code.check_character(code),
    )
    return mine, theirs


@pytest.mark.parametrize("model", ["cases/case", "cases/evidence", "cases/enterprise", "ledger/ledgerentry"])
def test_county_staff_see_only_their_county_in_the_admin(client, county_a, two_counties, model):
    mine, theirs = two_counties
    client.force_login(county_a)
    body = client.get(f"/admin/{model}/").content.decode()
    assert "浉河企业" in body or mine.number in body or "办理情况说明.pdf" in body
    assert theirs.number not in body and "平桥企业" not in body


def test_outsider_gets_404_on_a_foreign_case_in_the_admin(client, county_b, two_counties):
    mine, _theirs = two_counties
    client.force_login(county_b)
    response = client.get(reverse("admin:cases_case_change", args=[mine.pk]))
    assert response.status_code in (302, 404)  # the admin redirects to its index with "does not exist"
    assert mine.number not in client.get(reverse("admin:cases_case_changelist")).content.decode()
    entry = LedgerEntry.objects.filter(case=mine).first()
    response = client.get(reverse("admin:ledger_ledgerentry_change", args=[entry.pk]))
    assert response.status_code in (302, 404)


def test_department_staff_see_only_cases_routed_to_them(client, dept_y_user, two_counties):
    client.force_login(dept_y_user)
    body = client.get(reverse("admin:cases_case_changelist")).content.decode()
    assert "0 " in body or "浉河企业" not in body
    assert two_counties[0].number not in body


def test_case_admin_is_read_only(client, county_a, two_counties):
    mine, _ = two_counties
    client.force_login(county_a)
    page = client.get(reverse("admin:cases_case_change", args=[mine.pk]))
    assert page.status_code == 200
    assert 'name="state"' not in page.content.decode()  # shown, not editable
    response = client.post(reverse("admin:cases_case_change", args=[mine.pk]), {"state": "received"})
    assert response.status_code == 403
    assert client.get(reverse("admin:cases_case_add")).status_code == 403
    assert client.post(reverse("admin:cases_case_delete", args=[mine.pk]), {"post": "yes"}).status_code == 403
    mine.refresh_from_db()
    assert mine.state == "resolved"


def test_ledger_entries_cannot_be_added_changed_or_deleted_even_by_a_superuser(client, django_user_model, two_counties):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123")
    client.force_login(admin)
    entry = LedgerEntry.objects.filter(case=two_counties[0]).first()
    assert client.get(reverse("admin:ledger_ledgerentry_change", args=[entry.pk])).status_code == 200
    assert client.get(reverse("admin:ledger_ledgerentry_add")).status_code == 403
    assert client.post(reverse("admin:ledger_ledgerentry_change", args=[entry.pk]), {"action": "x"}).status_code == 403
    assert client.post(reverse("admin:ledger_ledgerentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    assert LedgerEntry.objects.get(pk=entry.pk).action == entry.action


def test_reference_data_is_edited_by_the_city_office_only(client, city_user, county_a):
    category = Category.objects.get(code="labour")
    url = reverse("admin:cases_category_change", args=[category.pk])
    data = {
        "code": "labour",
        "name": "用工对接",
        "deadline_days": 7,
        "complex_deadline_days": 15,
        "position": category.position,
    }
    client.force_login(county_a)
    assert client.get(url).status_code == 200  # may look
    assert client.post(url, data).status_code == 403
    client.force_login(city_user)
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Category.objects.get(pk=category.pk).deadline_days == 7


def test_evidence_admin_has_no_delete(client, city_user, two_counties):
    item = Evidence.objects.get(case=two_counties[0])
    client.force_login(city_user)
    assert client.post(reverse("admin:cases_evidence_delete", args=[item.pk]), {"post": "yes"}).status_code == 403
    assert Evidence.objects.filter(pk=item.pk).exists()
