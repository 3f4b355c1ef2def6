"""People and offices are shown by name, never by login: one rule (cases.display_names) for the
header, the ledger timeline, 印发人 and the scoring history. The API keeps the login it hashed."""

from __future__ import annotations

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext

from cases import services
from cases.display_names import display_name
from cases.users import create_user
from tests.conftest import pdf_file


def test_an_office_user_without_a_name_is_called_by_the_office(county_a, city_user):
    assert display_name(county_a) == "浉河区企业服务办公室"
    assert display_name(city_user) == "信阳市企业服务办公室"


def test_a_department_user_without_a_name_is_called_by_the_department(dept_x_user):
    assert display_name(dept_x_user) == "浉河区工信局"


def test_a_full_name_comes_first_family_name_first_with_the_office(county_a):
    county_a.last_name, county_a.first_name = "王", "芳"

    assert display_name(county_a) == "王芳（浉河区企业服务办公室）"


def test_the_assessor_is_the_assessment_group(assessor):
    assert display_name(assessor) == "考核组"


def test_a_user_without_a_role_falls_back_to_the_login(db):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("plain_login")

    assert display_name(user) == "plain_login"


def test_a_deleted_actor_shows_the_stored_login_and_the_system_is_named():
    assert display_name(None, fallback="county_gone") == "county_gone"
    assert display_name(None, fallback="system") == "系统"


def test_the_template_filter_reads_the_same_rule(county_a):
    rendered = Template("{% load display_names %}{{ u|display_name }}|{{ none|display_name:'old_login' }}")

    assert rendered.render(Context({"u": county_a, "none": None})) == "浉河区企业服务办公室|old_login"


def _queries_for(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        body = client.get(url).content.decode()
    return len(queries), body


def test_the_case_page_names_people_without_a_query_per_entry(client, county_a, dept_x, make_case, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    dept_user, _ = create_user("dept_named", role="department", department=dept_x, password="x-pass-123")
    case = services.assign(make_case(), by=county_a, department=dept_x)
    services.acknowledge(case, by=dept_user)
    case = services.resolve(case, by=dept_user, result="已解决", evidence=[pdf_file()])
    client.force_login(county_a)
    url = f"/cases/{case.pk}/"
    before, page = _queries_for(client, url)

    for _ in range(3):  # three more timeline entries and follow-ups by the same office
        case = services.record_follow_up(case, by=county_a, satisfaction="satisfied", note="电话回访")
    after, _page = _queries_for(client, url)

    timeline = page.split('id="timeline"', 1)[1]
    assert "浉河区企业服务办公室" in timeline and "浉河区工信局" in timeline
    assert "county_a" not in timeline and "dept_named" not in timeline
    assert after == before


def test_the_api_ledger_keeps_the_hashed_login(client, county_a, make_case):
    case = make_case()
    client.force_login(county_a)

    entries = client.get(f"/api/v1/cases/{case.pk}/ledger/").json()

    assert entries[0]["actor"] == "county_a"


@pytest.mark.parametrize("role_user", ["county_a", "dept_x_user"])
def test_the_header_shows_the_name_not_the_login(db, client, request, role_user):
    user = request.getfixturevalue(role_user)
    client.force_login(user)

    header = client.get("/").content.decode().split("</header>", 1)[0]

    assert display_name(user) in header
    assert f">{user.get_username()}<" not in header
