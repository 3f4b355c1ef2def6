"""The notice pages and downloads: what each role sees, and 404 outside scope."""

from __future__ import annotations

import io

import pytest
import time_machine
from openpyxl import load_workbook

from notices import services
from notices.models import Notice, NoticeSchedule, Status

from .conftest import RECIPIENTS, at


@pytest.fixture(autouse=True)
def _april_2026():
    with time_machine.travel(at("2026-04-03", 10), tick=False):
        yield


@pytest.fixture
def b_notice(region_b, county_b, schedule_for):
    schedule_for(region_b)
    return services.draft_notice(by=county_b, region=region_b, period="2026-03", now=at("2026-04-01"))


@pytest.fixture
def a_issued(region_a, county_a, schedule_for, register):
    schedule_for(region_a)
    register(region_a, "2026-01", "2026-02-03", by=county_a)
    draft = services.draft_notice(by=county_a, region=region_a, period="2026-03", now=at("2026-04-01"))
    return services.issue_notice(by=county_a, notice=draft, now=at("2026-04-02"))


def test_list_shows_badges_for_each_period(client, county_a, a_issued):
    client.force_login(county_a)
    page = client.get("/notices/?year=2026").content.decode()

    assert "badge notice-badge notice-badge-issued" in page
    assert "notice-badge-offline" in page
    assert "notice-badge-missing" in page  # February
    assert "notice-badge-pending" in page  # April onwards


def test_notice_page_print_and_xlsx(client, county_a, a_issued):
    client.force_login(county_a)

    assert client.get(f"/notices/{a_issued.pk}/").status_code == 200
    printable = client.get(f"/notices/{a_issued.pk}/print/")
    assert printable.status_code == 200 and b"notices.css" in printable.content
    xlsx = client.get(f"/notices/{a_issued.pk}/notice.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet["A1"].value == a_issued.title


@pytest.mark.parametrize("suffix", ["", "print/", "notice.xlsx", "document/"])
def test_another_countys_notice_is_404(client, county_a, dept_y_user, b_notice, suffix):
    for user in (county_a, dept_y_user):
        client.force_login(user)
        assert client.get(f"/notices/{b_notice.pk}/{suffix}").status_code == 404


def test_outsiders_cannot_act_on_another_countys_notice(client, county_a, b_notice):
    client.force_login(county_a)

    assert client.post(f"/notices/{b_notice.pk}/issue/").status_code == 404
    assert client.post(f"/notices/{b_notice.pk}/correct/").status_code == 404
    assert client.post("/notices/regions/411503/draft/", {"period": "2026-02"}).status_code == 404
    assert client.get("/notices/regions/411503/schedule/").status_code == 404
    assert client.get("/notices/?region=411503").status_code == 404
    assert Notice.objects.get(pk=b_notice.pk).status == Status.DRAFTED


def test_departments_have_no_notice_pages(client, dept_x_user):
    client.force_login(dept_x_user)
    assert client.get("/notices/").status_code == 404
    assert client.get("/notices/offline/").status_code == 404


def test_city_and_assessor_see_every_county(client, city_user, assessor, b_notice):
    for user in (city_user, assessor):
        client.force_login(user)
        assert client.get(f"/notices/{b_notice.pk}/").status_code == 200
        assert client.get("/notices/?region=411503").status_code == 200
    assert client.get("/notices/offline/").status_code == 404  # the assessor only reads


def test_schedule_form_refuses_missing_groups_and_saves_complete_ones(client, county_a, region_a):
    client.force_login(county_a)
    form = {"frequency": "monthly", "start_date": "", "r-TOTAL_FORMS": "3", "r-INITIAL_FORMS": "0"}
    for i, row in enumerate(RECIPIENTS[:2]):
        form |= {f"r-{i}-group": row["group"], f"r-{i}-name": row["name"], f"r-{i}-email": row["email"]}

    refused = client.post("/notices/regions/411502/schedule/", form)
    assert refused.status_code == 200
    assert not NoticeSchedule.objects.exists()

    row = RECIPIENTS[2]
    form |= {"r-2-group": row["group"], "r-2-name": row["name"], "r-2-email": row["email"]}
    saved = client.post("/notices/regions/411502/schedule/", form)
    assert saved.status_code == 302
    assert NoticeSchedule.objects.get(region=region_a).recipients.count() == 3


def test_offline_form_registers_and_refuses_a_duplicate(client, county_a, region_a):
    from tests.conftest import pdf_file

    client.force_login(county_a)
    form = {
        "region": "411502",
        "period": "2026-02",
        "issued_on": "2026-03-03",
        "title": "",
        "groups": ["city_office", "local_leader", "department_leader"],
    }

    first = client.post("/notices/offline/", {**form, "document": pdf_file()})
    second = client.post("/notices/offline/", {**form, "document": pdf_file()})

    assert first.status_code == 302
    assert second.status_code == 200
    assert Notice.objects.filter(region=region_a, offline=True).count() == 1


def test_editing_a_draft_and_refusing_to_edit_the_issued_notice(client, county_a, region_a, a_issued):
    client.force_login(county_a)
    response = client.post(f"/notices/{a_issued.pk}/", {"title": "改标题", "covering_text": "改"}, follow=True)

    assert response.status_code == 200
    a_issued.refresh_from_db()
    assert a_issued.title != "改标题"


def test_pages_speak_simplified_chinese(client, county_a, a_issued):
    client.force_login(county_a)
    page = client.get("/notices/?year=2026", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    detail = client.get(f"/notices/{a_issued.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "浉河区2026年定期通报" in page
    assert "未通报" in page and "线下登记" in page
    assert "按期办结率" in detail and "市服务办" in detail
