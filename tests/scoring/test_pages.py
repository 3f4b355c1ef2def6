"""Scoring pages and exports: who sees what, drill-down, forms, XLSX, query budget."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from scoring.models import Attachment, ItemEntry, Override
from tests.conftest import pdf_file

from .conftest import at

pytestmark = pytest.mark.django_db


def test_scoreboard_shows_ranks_chart_and_links(client, assessor, history, region_a):
    history(at(2025, 3, 3), closed=at(2025, 3, 4))
    client.force_login(assessor)
    response = client.get("/scoring/2025/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body and "chart-bar" in body
    assert "/scoring/2025/411502/" in body and "浉河区" in body
    assert 'style="' not in body and "<script>" not in body


def test_county_office_is_sent_to_its_own_sheet_and_cannot_see_others(client, county_a, dept_x_user, region_b):
    client.force_login(county_a)
    assert client.get("/scoring/2025/").url == "/scoring/2025/411502/"
    assert client.get("/scoring/2025/411502/").status_code == 200
    assert client.get("/scoring/2025/411503/").status_code == 404
    assert client.get("/scoring/2025/411503/items/15/").status_code == 404
    assert client.get("/scoring/2025/411503/scoresheet.xlsx").status_code == 404
    client.force_login(dept_x_user)
    assert client.get("/scoring/2025/").status_code == 404
    assert client.get("/scoring/2025/411502/").status_code == 404


def test_scoresheet_lays_out_the_seed_items(client, assessor, region_a):
    client.force_login(assessor)
    body = client.get("/scoring/2025/411502/").content.decode()
    assert "一、企业服务工作机制、平台建设情况" in body
    assert "15、本地区问题办理时效及质量" in body
    assert "解决率达到95%以上的得4分" in body
    assert body.count('class="num score"') == 21


def test_item15_drill_down_lists_the_cases(client, assessor, history, region_a):
    late = history(at(2025, 3, 3), closed=at(2025, 3, 20))
    pending = history(at(2025, 12, 19))
    client.force_login(assessor)
    body = client.get("/scoring/2025/411502/items/15/").content.decode()
    assert late.number in body and pending.number in body


def test_manual_entry_and_attachment_through_the_form(client, assessor, region_a):
    client.force_login(assessor)
    response = client.post(
        "/scoring/2025/411502/items/2/", {"points": "7.5", "note": "机构文件齐全", "files": [pdf_file("机构文件.pdf")]}
    )
    assert response.status_code == 302
    entry = ItemEntry.objects.get()
    assert (entry.points, entry.item_number) == (7.5, 2)
    attachment = Attachment.objects.get()
    assert attachment.original_name == "机构文件.pdf" and "机构" not in attachment.file.name
    download = client.get(f"/scoring/attachments/{attachment.pk}/")
    assert download.status_code == 200
    response = client.post("/scoring/2025/411502/items/2/", {"points": "11", "note": ""})
    assert response.status_code == 400
    assert ItemEntry.objects.get().points == 7.5


def test_attachment_download_is_scoped(client, assessor, county_b, region_a):
    client.force_login(assessor)
    client.post("/scoring/2025/411502/items/2/", {"points": "1", "files": [pdf_file()]})
    attachment = Attachment.objects.get()
    client.force_login(county_b)
    assert client.get(f"/scoring/attachments/{attachment.pk}/").status_code == 404


def test_override_form_needs_a_reason(client, assessor, region_a):
    client.force_login(assessor)
    assert client.post("/scoring/2025/411502/items/13/", {"points": "2"}).status_code == 400
    assert not Override.objects.exists()
    assert client.post("/scoring/2025/411502/items/13/", {"points": "2", "note": "台帐已现场核查"}).status_code == 302
    body = client.get("/scoring/2025/411502/items/13/").content.decode()
    assert "台帐已现场核查" in body


def test_xlsx_exports(client, assessor, history, region_a):
    history(at(2025, 3, 3), closed=at(2025, 3, 20))
    client.force_login(assessor)
    sheet = load_workbook(io.BytesIO(client.get("/scoring/2025/411502/scoresheet.xlsx").content)).active
    values = [c for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert "15、本地区问题办理时效及质量(4分)" in values
    assert "以政府名义制定下发年度工作方案" in values
    board = load_workbook(io.BytesIO(client.get("/scoring/2025/scores.xlsx").content))
    rows = list(board.worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 12 and rows[2][1] == "411502"
    late_rows = list(board.worksheets[1].iter_rows(values_only=True))
    assert len(late_rows) == 2


@pytest.mark.parametrize("cases", [2, 12])
def test_scoreboard_queries_do_not_grow_with_cases(
    client, assessor, history, region_a, cases, django_assert_max_num_queries
):
    for i in range(cases):
        history(at(2025, 3, 3), closed=at(2025, 3, 4 + i % 10))
    client.force_login(assessor)
    client.get("/scoring/2025/")  # judges the new chains once (item 13 verdicts)
    # session, user, profile; assessment, rule set, sections, items, criteria, regions; the ledger
    # check before item 13 (heads not verified through their last entry, broken chains); item 15
    # (1), item 13 (1); notices (schedules, notices); department names; the inbox badge of
    # base.html: 17, whatever the number of cases.
    with django_assert_max_num_queries(17):
        assert client.get("/scoring/2025/").status_code == 200
