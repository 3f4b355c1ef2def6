"""Scoring pages an assessor can defend a point with: rank order, percentages, the method's
name, the item 13/14/15 drill-down tables (sortable, exportable, bounded queries), and a
readable history."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from cases import services as cases
from cases.display_names import display_name
from scoring import services
from scoring.drilldown import sort_rows, timeliness_rows
from scoring.results import score_year

from .conftest import at

pytestmark = pytest.mark.django_db


def _rows(body: str, table_class: str = "scores drill") -> list[str]:
    table = body.split(f'<table class="{table_class}">')[1].split("</table>")[0]
    return [row for row in table.split("<tr>")[2:]]


@pytest.fixture
def year_2025(history, region_a, region_b, county_b, dept_z, make_case):
    """County A: one case closed on time, one closed late, one open past its due date, one
    pending; county B: two cases closed on time (so B ranks above A)."""
    on_time = history(at(2025, 3, 3), closed=at(2025, 3, 4))
    closed_late = history(at(2025, 3, 3), closed=at(2025, 3, 20))  # due 03-10: 8 working days late
    open_late = history(at(2025, 6, 2), assigned=at(2025, 6, 2, 11))  # due 06-09, never closed
    pending = history(at(2025, 12, 19))  # due after the cutoff
    for day in (3, 4):
        case = make_case(by=county_b, region=region_b, received_at=at(2025, 4, day), now=at(2025, 4, day))
        case = cases.assign(case, by=county_b, department=dept_z, now=at(2025, 4, day, 11))
    return {"on_time": on_time, "closed_late": closed_late, "open_late": open_late, "pending": pending}


def test_scoreboard_lists_regions_in_rank_order_with_percentages(client, assessor, year_2025):
    client.force_login(assessor)
    response = client.get("/scoring/2025/")
    ranks = [r.rank for r in response.context["regions"]]
    assert ranks == sorted(ranks)
    body = response.content.decode()
    table = body.split('<table class="scores board">')[1]
    names = re.findall(r'<td class="nowrap name"><a href="/scoring/2025/(\d+)/">', table)
    assert names == [r.region.code for r in response.context["regions"]]
    a_rate = score_year(2025).region("411502").items[15].detail.rate_text  # "0.3333"
    assert a_rate == "0.3333"
    assert "33.33%" in table and "0.3333" not in table
    assert "2012年信阳市企业服务工作考核办法" in body and "(xinyang-2012)" not in body


def test_the_chart_is_drawn_in_rank_order_at_a_readable_size(client, assessor, year_2025):
    client.force_login(assessor)
    body = client.get("/scoring/2025/").content.decode()
    svg = body.split("<svg")[1].split("</svg>")[0]
    assert 'viewBox="0 0 960 ' in svg
    labels = re.findall(r'class="chart-label">(\d+)\. ', svg)
    assert [int(n) for n in labels] == sorted(int(n) for n in labels)
    assert svg.count('class="chart-grid"') == 6


def test_item15_table_gives_each_case_its_facts(client, assessor, year_2025, dept_x):
    client.force_login(assessor)
    body = client.get("/scoring/2025/411502/items/15/").content.decode()
    rows = {re.search(r">(411502-2025-\d+)<", row).group(1): row for row in _rows(body)}

    late = rows[year_2025["closed_late"].number]
    assert f'href="/cases/{year_2025["closed_late"].pk}/"' in late
    assert year_2025["closed_late"].enterprise.name in late and dept_x.name in late
    assert "2025-03-03" in late and "2025-03-10" in late and "2025-03-20" in late
    assert '<td class="num">8</td>' in late and "逾期办结" in late

    still_open = rows[year_2025["open_late"].number]
    assert "超期未办结" in still_open and "2025-06-09" in still_open
    # counted to the cutoff, 2025-12-20
    assert re.search(r'<td class="num">(\d+)</td>', still_open).group(1) == str(
        timeliness_rows(
            score_year(2025).region("411502").items[15].detail, score_year(2025).scope, as_of=score_year(2025).cutoff
        )[1].days_late
    )
    assert "未到期（不计入）" in rows[year_2025["pending"].number]
    assert year_2025["on_time"].number not in rows  # on time: nothing to defend


def test_item15_table_sorts_on_the_server(client, assessor, year_2025):
    client.force_login(assessor)
    by_late = client.get("/scoring/2025/411502/items/15/?sort=-late").content.decode()
    numbers = [re.search(r">(411502-2025-\d+)<", row).group(1) for row in _rows(by_late)]
    # the open case is further behind than the one closed 8 working days late; pending has no figure
    assert numbers == [year_2025["open_late"].number, year_2025["closed_late"].number, year_2025["pending"].number]
    by_due = client.get("/scoring/2025/411502/items/15/?sort=due").content.decode()
    assert [re.search(r">(411502-2025-\d+)<", row).group(1) for row in _rows(by_due)] == [
        year_2025["closed_late"].number,
        year_2025["open_late"].number,
        year_2025["pending"].number,
    ]
    only_pending = client.get("/scoring/2025/411502/items/15/?show=pending").content.decode()
    assert len(_rows(only_pending)) == 1
    assert client.get("/scoring/2025/411502/items/15/?sort=nonsense").status_code == 200


def test_sorting_puts_rows_without_a_value_last_both_ways():
    from scoring.drilldown import CaseRow

    rows = [CaseRow("a", "pending"), CaseRow("b", "closed_late", days_late=3), CaseRow("c", "open_late", days_late=9)]
    assert [r.number for r in sort_rows(rows, "late")[0]] == ["b", "c", "a"]
    assert [r.number for r in sort_rows(rows, "-late")[0]] == ["c", "b", "a"]
    assert sort_rows(rows, "drop table")[1] == "number"


def test_item15_exports_its_table_to_xlsx(client, assessor, year_2025):
    client.force_login(assessor)
    response = client.get("/scoring/2025/411502/items/15/cases.xlsx?sort=-late")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[2][:3] == ["编号", "企业名称", "责任单位"] or values[2][0] == "编号"
    assert [row[0] for row in values[3:]] == [
        year_2025["open_late"].number,
        year_2025["closed_late"].number,
        year_2025["pending"].number,
    ]
    closed_late = values[4]
    assert closed_late[6] == 8 and closed_late[7] == "逾期办结"
    assert "截至考核截止日2025-12-20" in values[1][0]


def test_item_pages_and_export_are_404_outside_scope(client, county_b, year_2025):
    client.force_login(county_b)
    assert client.get("/scoring/2025/411502/items/15/").status_code == 404
    assert client.get("/scoring/2025/411502/items/15/cases.xlsx").status_code == 404


def test_item15_page_takes_a_bounded_number_of_queries(client, assessor, history, django_assert_max_num_queries):
    for day in range(1, 25):  # two dozen late cases: no query per row
        history(at(2025, 5, day if day < 29 else 28), closed=at(2025, 7, 1))
    client.force_login(assessor)
    client.get("/scoring/2025/411502/items/15/")  # judges every chain once (item 13's verdicts)
    # 21 with 24 late cases, the same with 2: session and user; scoring (assessment, rule set,
    # sections, items and their criteria, regions, the ledger scan, item 14's schedules and
    # notices, departments, the two broken-chain checks); the drill-down (cases, their entries up
    # to the cutoff, departments, the calendar) — never one per case
    with django_assert_max_num_queries(21):
        assert client.get("/scoring/2025/411502/items/15/").status_code == 200
    with django_assert_max_num_queries(21):
        assert client.get("/scoring/2025/411502/items/15/cases.xlsx").status_code == 200


def test_item13_lists_what_each_case_lacks_under_missing(client, assessor, history, region_a):
    from ledger.models import LedgerHead

    case = history(at(2025, 3, 3), closed=at(2025, 3, 4))
    # A case whose chain lacks the evidence: judged incomplete.
    LedgerHead.objects.filter(case_id=case.pk).update(complete=False, missing=["evidence", "result"])
    client.force_login(assessor)
    body = client.get("/scoring/2025/411502/items/13/").content.decode()
    header = body.split('<table class="scores drill">')[1].split("</thead>")[0]
    assert ">缺少</a>" in header and "未通报" not in header
    row = _rows(body)[0]
    assert case.number in row and "佐证材料（至少一项）、办理结果" in row


def test_item14_shows_the_schedule_in_words_and_each_period(client, assessor, region_a, county_a):
    from notices import services as notices

    notices.save_schedule(
        by=county_a,
        region=region_a,
        frequency="monthly",
        recipients=[
            {"group": "city_office", "name": "市服务办", "email": "c@example.cn"},
            {"group": "local_leader", "name": "王副区长", "email": "l@example.cn"},
            {"group": "department_leader", "name": "各局负责人", "email": "d@example.cn"},
        ],
    )
    client.force_login(assessor)
    body = client.get("/scoring/2025/411502/items/14/").content.decode()
    assert "通报制度: 按月" in body and ">monthly<" not in body
    assert len(_rows(body)) == 11  # January to November end by the 12-20 cutoff
    assert "未按时通报" in body


def test_the_history_reads_who_when_from_to_and_why(client, assessor, year_2025):
    services.set_item_points(
        2025, year_2025["on_time"].region, 15, by=assessor, points="3", note="抽查发现两件未按期办结的问题已补正"
    )
    services.set_item_points(2025, year_2025["on_time"].region, 15, by=assessor, points="2", note="复核后调整")
    client.force_login(assessor)
    body = client.get("/scoring/2025/411502/items/15/").content.decode()
    history = body.split('<table class="scores history">')[1].split("</table>")[0]
    assert "3 → 2" in history and "— → 3" in history
    assert "复核后调整" in history and display_name(assessor) in history  # a name, not a login
    assert "sha256" not in history and "{&#x27;" not in history and "{'" not in history
