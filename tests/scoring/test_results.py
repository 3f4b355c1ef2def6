"""Items 13 and 14, ranking, departments, determinism, freezing."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from cases.models import Region
from notices.models import ALL_GROUPS, Frequency, Notice, NoticeSchedule, Status
from scoring import services
from scoring.ladders import points_str
from scoring.models import Assessment
from scoring.results import score_year, shared_ranks

from .conftest import at, close_without_evidence

pytestmark = pytest.mark.django_db


def test_ranks_are_shared_on_equal_totals():
    assert shared_ranks([10, 9, 9, 8], key=lambda v: v) == [1, 2, 2, 4]
    assert shared_ranks([5, None, 5], key=lambda v: v) == [1, None, 1]


def test_ranking_from_entries(assessor, region_a, region_b):
    c = Region.objects.get(code="411521")
    services.set_item_points(2025, region_a, 1, by=assessor, points="6")
    services.set_item_points(2025, region_b, 1, by=assessor, points="5.5")
    services.set_item_points(2025, c, 2, by=assessor, points="5.5")
    board = score_year(2025)
    ranks = {r.region.code: (r.rank, points_str(r.total)) for r in board.regions}
    assert ranks["411502"] == (1, "6")
    assert ranks["411503"][0] == ranks["411521"][0] == 2
    assert ranks["411522"][0] == 4


def test_item13_points_and_list(history, region_a):

    history(at(2025, 3, 3), closed=at(2025, 3, 4))
    board = score_year(2025)
    assert board.as_json(["411502"])["regions"][0]["items"]["13"]["points"] == "4"
    assert board.as_json(["411503"])["regions"][0]["items"]["13"] == {
        "points": "0",
        "max": "4",
        "auto": True,
        "complete": 0,
        "total": 0,
        "rate": None,
        "incomplete": [],
    }
    # A closing recorded without evidence (as old imported ledgers have) makes the ledger incomplete.
    case = history(at(2025, 3, 3), assigned=at(2025, 3, 3, 11))
    close_without_evidence(case, at(2025, 3, 5))
    item = score_year(2025).as_json(["411502"])["regions"][0]["items"]["13"]
    assert item["points"] == "2" and item["complete"] == 1 and item["total"] == 2 and item["rate"] == "0.5000"
    assert item["incomplete"] == [{"number": case.number, "missing": ["evidence"]}]


def _notice(region, month, groups=ALL_GROUPS, issued_on=None):
    start = dt.date(2025, month, 1)
    end = dt.date(2025 + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
    return Notice.objects.create(
        region=region,
        period=f"2025-{month:02d}",
        frequency=Frequency.MONTHLY,
        period_start=start,
        period_end=end,
        status=Status.ISSUED,
        issued_on=issued_on or end + dt.timedelta(days=5),
        groups=list(groups),
    )


def test_item14_from_the_notices(region_a, region_b):
    NoticeSchedule.objects.create(region=region_a, frequency=Frequency.MONTHLY)
    for month in range(1, 12):
        _notice(region_a, month)
    item = score_year(2025).as_json(["411502"])["regions"][0]["items"]["14"]
    assert item == {
        "points": "4",
        "max": "4",
        "auto": True,
        "schedule": "monthly",
        "periods_due": 11,
        "periods_served": 11,
        "missing_periods": [],
    }
    NoticeSchedule.objects.create(region=region_b, frequency=Frequency.MONTHLY)
    for month in range(1, 12):
        if month != 4:
            _notice(region_b, month, groups=ALL_GROUPS if month != 7 else ALL_GROUPS[:2])
    item = score_year(2025).as_json(["411503"])["regions"][0]["items"]["14"]
    assert item["points"] == "2" and item["missing_periods"] == ["2025-04", "2025-07"]
    none = score_year(2025).as_json(["411521"])["regions"][0]["items"]["14"]
    assert none["points"] == "0" and none["schedule"] is None


def test_departments_ranked_by_item15(history, region_a, dept_y, dept_y_user):
    history(at(2025, 3, 3), closed=at(2025, 3, 4))
    history(at(2025, 3, 3), closed=at(2025, 3, 20))
    history(at(2025, 3, 3), closed=at(2025, 3, 4), department=dept_y, department_user=dept_y_user)
    departments = score_year(2025).region("411502").departments
    assert [(d.name, d.rank, d.timeliness.rate_text, d.points) for d in departments] == [
        ("浉河区人社局", 1, "1.0000", Decimal("4")),
        ("浉河区工信局", 2, "0.5000", Decimal("0")),
    ]


def test_same_ledger_same_bytes_in_command_and_api(client, assessor, history, region_a):
    history(at(2025, 3, 3), closed=at(2025, 3, 20))
    history(at(2025, 12, 19))
    first = score_year(2025).to_bytes()
    assert score_year(2025).to_bytes() == first
    out = io.StringIO()
    call_command("score", year=2025, format="json", stdout=out)
    assert out.getvalue().encode("utf-8") == first + b"\n"
    client.force_login(assessor)
    assert client.get("/api/v1/scores/2025/").content == first
    json.loads(first)


def test_scoring_after_the_cutoff_equals_scoring_at_the_cutoff(history, region_a):
    case = history(at(2025, 12, 1), closed=at(2025, 12, 3))
    before = score_year(2025).to_bytes()
    from cases import services as case_services

    case_services.reopen(case, by=_user("county_a"), reason="不满意", now=at(2025, 12, 26))
    assert score_year(2025).to_bytes() == before


def _user(name):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=name)


def test_freeze_after_the_cutoff_and_verify(assessor, history, region_a):
    history(at(2025, 3, 3), closed=at(2025, 3, 4))
    with pytest.raises(services.WrongState):
        services.freeze(2025, now=at(2025, 12, 20, 23, 59))
    assessment = services.freeze(2025, by=assessor, now=at(2025, 12, 21, 0, 30))
    assert assessment.is_frozen and len(assessment.inputs_hash) == 64
    assert services.verify_frozen(2025) == (True, True)
    assert services.frozen_or_live_bytes(2025, cutoff=None, region_codes=None) == assessment.result_json.encode()
    assert Assessment.objects.get().audit.filter(action="freeze").exists()


def test_manual_entries_after_the_freeze_renew_the_frozen_result(assessor, history, region_a):
    history(at(2025, 3, 3), closed=at(2025, 3, 4))
    first = services.freeze(2025, by=assessor, now=at(2025, 12, 21, 0, 30))
    frozen_bytes, frozen_hash = first.result_json, first.inputs_hash
    services.set_item_points(
        2025, region_a, 1, by=assessor, points="5.5", note="以政府名义发文", now=at(2025, 12, 26, 9)
    )
    renewed = Assessment.objects.get(year=2025)
    assert renewed.result_json != frozen_bytes and renewed.inputs_hash != frozen_hash
    assert '"points":"5.5"' in renewed.result_json.replace(" ", "")
    assert services.verify_frozen(2025) == (True, True)
    assert renewed.audit.filter(action="freeze").count() == 2


def test_freeze_task_freezes_years_whose_cutoff_passed(history, region_a):
    import time_machine as tm

    from scoring.tasks import freeze_after_cutoff

    with tm.travel(at(2025, 12, 22, 1), tick=False):
        assert freeze_after_cutoff() == [2025]
        assert freeze_after_cutoff() == []
    assert Assessment.objects.get(year=2025).is_frozen
