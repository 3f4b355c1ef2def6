"""One story for provisional scores: before the cutoff every page scores as of today (open cases
not yet due are pending, never late) and says so; from the cutoff on, as of the cutoff. The
dashboard, scoreboard, scoresheet and item pages agree, and item 14 agrees with the notices page."""

from __future__ import annotations

import re

import pytest
import time_machine

from notices import services as notices
from scoring.results import score_year

from .conftest import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def november(history):
    """Three open cases on 2025-11-12: due before today, due today, due after today (but before
    the 12-20 cutoff); and one closed on time."""
    cases = {
        "overdue": history(at(2025, 10, 27), assigned=at(2025, 10, 27, 11)),  # due 11-03
        "due_today": history(at(2025, 11, 5), assigned=at(2025, 11, 5, 11)),  # due 11-12
        "due_later": history(at(2025, 11, 10), assigned=at(2025, 11, 10, 11)),  # due 11-17
        "on_time": history(at(2025, 11, 3), closed=at(2025, 11, 4)),
    }
    assert [cases[k].due_date.isoformat() for k in ("overdue", "due_today", "due_later")] == [
        "2025-11-03",
        "2025-11-12",
        "2025-11-17",
    ]
    return cases


def test_before_the_cutoff_open_cases_not_yet_due_are_pending_never_late(november):
    board = score_year(2025, today=at(2025, 11, 12).date())
    item15 = board.region("411502").items[15].detail
    assert board.as_of_today and board.cutoff.isoformat() == "2025-11-12"
    assert board.planned_cutoff.isoformat() == "2025-12-20"
    assert item15.open_late == [november["overdue"].number]
    assert sorted(item15.pending) == sorted([november["due_today"].number, november["due_later"].number])
    assert (item15.on_time, item15.counted) == (1, 2)


def test_from_the_cutoff_on_the_year_end_rules_apply_unchanged(november):
    before_cutoff = score_year(2025, today=at(2025, 12, 28).date())
    assert not before_cutoff.as_of_today and before_cutoff.cutoff.isoformat() == "2025-12-20"
    assert before_cutoff.to_bytes() == score_year(2025).to_bytes()
    item15 = before_cutoff.region("411502").items[15].detail
    assert sorted(item15.open_late) == sorted(n.number for k, n in november.items() if k != "on_time")


def test_every_page_says_which_moment_and_they_agree(client, assessor, november):
    client.force_login(assessor)
    with time_machine.travel(at(2025, 11, 12, 15), tick=False):
        board = client.get("/scoring/2025/").content.decode()
        sheet = client.get("/scoring/2025/411502/").content.decode()
        item = client.get("/scoring/2025/411502/items/15/").content.decode()
        dashboard = client.get("/")
    for page in (board, sheet, item):
        assert "暂算得分，截至今日（2025-11-12）" in page
    # item 15 lists the open case due later as pending, not as 超期未办结
    rows = {
        re.search(r">(411502-2025-\d+)<", row).group(1): row
        for row in item.split('<table class="scores drill">')[1].split("</table>")[0].split("<tr>")[2:]
    }
    assert "未到期（不计入）" in rows[november["due_later"].number]
    assert "未到期（不计入）" in rows[november["due_today"].number]
    assert "超期未办结" in rows[november["overdue"].number]

    provisional = dashboard.context["provisional"]
    assert provisional["as_of_today"] and provisional["cutoff"].isoformat() == "2025-11-12"
    on_dashboard = {row["code"]: row for row in provisional["regions"]}
    scored = score_year(2025, today=at(2025, 11, 12).date())
    for region_score in scored.regions:
        assert on_dashboard[region_score.region.code]["total"] == str(region_score.total)
    ranks = [row["rank"] for row in provisional["regions"]]
    assert ranks == sorted(ranks)  # the dashboard's table is in rank order too


def test_after_the_cutoff_pages_say_as_of_the_cutoff(client, assessor, november):
    client.force_login(assessor)
    with time_machine.travel(at(2025, 12, 28, 9), tick=False):
        page = client.get("/scoring/2025/411502/items/15/").content.decode()
    assert "截至考核截止日2025-12-20" in page and "暂算得分" not in page


def test_item14_periods_due_agree_with_the_notices_page(client, assessor, city_user, county_a, region_a):
    recipients = [
        {"group": "city_office", "name": "市服务办", "email": "c@example.cn"},
        {"group": "local_leader", "name": "王副区长", "email": "l@example.cn"},
        {"group": "department_leader", "name": "各局负责人", "email": "d@example.cn"},
    ]
    notices.save_schedule(by=county_a, region=region_a, frequency="monthly", recipients=recipients)
    with time_machine.travel(at(2025, 12, 2, 9), tick=False):
        client.force_login(assessor)
        item = client.get("/scoring/2025/411502/items/14/").content.decode()
        client.force_login(city_user)
        listing = client.get("/notices/?region=411502&year=2025").content.decode()
    detail = score_year(2025, today=at(2025, 12, 2).date()).region("411502").items[14].detail
    # As of 12-02: January–October are due (and missing); November ended but its notice may
    # still go out in time until 12-31 — pending on both pages, not missing.
    assert len(detail.periods_due) == 10 and detail.periods_pending == ["2025-11"]
    assert "应通报期数 10" in item and "未到期（仍可按时印发）" in item
    assert "应通报10期" in listing


def test_the_api_and_the_command_score_as_of_today_before_the_cutoff_like_the_pages(client, assessor, november):
    import json

    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=assessor)
    with time_machine.travel(at(2025, 11, 12, 15), tick=False):
        body = client.get("/api/v1/scores/2025/?region=411502", HTTP_AUTHORIZATION=f"Token {token.key}").json()
        from io import StringIO

        out = StringIO()
        call_command("score", "--year", "2025", "--region", "411502", "--format", "json", stdout=out)
    item15 = body["regions"][0]["items"]["15"]
    assert body["provisional"] is True and body["as_of"] == "2025-11-12" and body["cutoff"] == "2025-12-20"
    assert item15["late"] == [november["overdue"].number]
    assert sorted(item15["pending"]) == sorted([november["due_today"].number, november["due_later"].number])
    assert json.loads(out.getvalue()) == body


def test_on_the_cutoff_day_a_case_due_that_day_is_still_pending(november):
    board = score_year(2025, cutoff=at(2025, 11, 12).date(), today=at(2025, 11, 12).date())
    item15 = board.region("411502").items[15].detail
    assert board.as_of_today
    assert november["due_today"].number in item15.pending
    assert november["due_today"].number not in item15.open_late
    # The day after, the cutoff has passed: the year-end rules count it late.
    after = score_year(2025, cutoff=at(2025, 11, 12).date(), today=at(2025, 11, 13).date())
    assert november["due_today"].number in after.region("411502").items[15].detail.open_late


@pytest.mark.parametrize("written", ["Infinity", "NaN", "1e-99999999", "1e999999", "1/0", "1234567890/1234567891"])
def test_an_absurd_satisfaction_rate_is_refused_not_computed(written):
    from cases.errors import InvalidInput
    from scoring.derived import parse_rate

    with pytest.raises(InvalidInput):
        parse_rate(written)
