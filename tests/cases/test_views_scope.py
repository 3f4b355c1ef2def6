"""Outside one's scope, every case URL answers 404 — never 403 — and lists and exports leave it out."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from cases import services
from cases.views import ACTIONS
from tests.conftest import pdf_file

pytestmark = pytest.mark.django_db


def _action_url(name, pk):
    return reverse(f"cases:{name}", args=[pk])


def _csv_text(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig")


def _xlsx_numbers(response) -> list[str]:
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    return [row[1] for row in workbook.active.iter_rows(min_row=2, values_only=True)]


@pytest.fixture
def resolved_case(assigned_case, dept_x_user):
    return services.resolve(assigned_case, by=dept_x_user, result="已协调解决", evidence=[pdf_file()])


@pytest.mark.parametrize("outsider", ["county_b", "dept_y_user", "dept_z_user"])
def test_outsider_gets_404_on_every_case_url(client, request, resolved_case, outsider):
    client.force_login(request.getfixturevalue(outsider))
    evidence = resolved_case.evidence.get()
    assert client.get(reverse("cases:detail", args=[resolved_case.pk])).status_code == 404
    assert client.get(reverse("cases:evidence_download", args=[evidence.pk])).status_code == 404
    for name in ACTIONS:
        response = client.post(_action_url(name, resolved_case.pk), {f"{name}-reason": "x"})
        assert response.status_code == 404, name
    assert resolved_case.ledger_entries.count() == 3


def test_outsider_cannot_guess_nonexistent_or_foreign_case_apart(client, county_b, assigned_case):
    client.force_login(county_b)
    foreign = client.get(reverse("cases:detail", args=[assigned_case.pk]))
    missing = client.get(reverse("cases:detail", args=[assigned_case.pk + 1000]))
    assert foreign.status_code == missing.status_code == 404


@pytest.mark.parametrize("insider", ["county_a", "city_user", "assessor", "dept_x_user"])
def test_insiders_see_the_case_and_download_its_evidence(client, request, resolved_case, insider):
    client.force_login(request.getfixturevalue(insider))
    response = client.get(reverse("cases:detail", args=[resolved_case.pk]))
    assert response.status_code == 200
    assert resolved_case.number in response.content.decode()
    evidence = resolved_case.evidence.get()
    download = client.get(reverse("cases:evidence_download", args=[evidence.pk]))
    assert download.status_code == 200


def test_department_keeps_seeing_a_case_that_was_routed_to_it(client, assigned_case, county_a, dept_y, dept_x_user):
    services.reassign(assigned_case, by=county_a, department=dept_y)
    client.force_login(dept_x_user)
    assert client.get(reverse("cases:detail", args=[assigned_case.pk])).status_code == 200
    assert assigned_case.number in client.get(reverse("cases:ledger")).content.decode()


def test_anonymous_user_is_sent_to_login(client, assigned_case):
    response = client.get(reverse("cases:detail", args=[assigned_case.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    response = client.get(reverse("cases:ledger_export_csv"))
    assert response.status_code == 302


def test_ledger_list_and_exports_show_only_the_users_scope(
    client, make_case, county_a, county_b, region_b, dept_x, dept_y, dept_x_user, dept_y_user
):
    to_x = services.assign(make_case(), by=county_a, department=dept_x)
    to_y = services.assign(make_case(), by=county_a, department=dept_y)
    in_b = make_case(by=county_b, region=region_b)

    expectations = {
        county_a: ({to_x.number, to_y.number}, {in_b.number}),
        county_b: ({in_b.number}, {to_x.number, to_y.number}),
        dept_x_user: ({to_x.number}, {to_y.number, in_b.number}),
        dept_y_user: ({to_y.number}, {to_x.number, in_b.number}),
    }
    for user, (visible, hidden) in expectations.items():
        client.force_login(user)
        page = client.get(reverse("cases:ledger")).content.decode()
        csv_text = _csv_text(client.get(reverse("cases:ledger_export_csv")))
        xlsx_numbers = set(_xlsx_numbers(client.get(reverse("cases:ledger_export_xlsx"))))
        for number in visible:
            assert number in page and number in csv_text and number in xlsx_numbers, (user, number)
        for number in hidden:
            assert number not in page and number not in csv_text and number not in xlsx_numbers, (user, number)


def test_a_region_filter_outside_scope_is_refused_not_obeyed(client, make_case, county_a, county_b, region_b):
    make_case(by=county_b, region=region_b)
    mine = make_case()
    client.force_login(county_a)
    response = client.get(reverse("cases:ledger_export_csv"), {"region": region_b.pk})
    text = _csv_text(response)
    # The choice is invalid for county A, so the filter is dropped and only A's own cases remain.
    assert mine.number in text and "411503-" not in text
    page = client.get(reverse("cases:ledger"), {"region": region_b.pk}).content.decode()
    assert "411503-" not in page
