"""Item 21 from the follow-ups (SPEC §4a): the satisfaction rate per region beside the scores, and
usable as item 21's figure through the rule set's ladder (the 80–85 gap flagged)."""

from __future__ import annotations

import pytest

from cases import services
from scoring.rulesets import DEFAULT_CODE, read
from scoring.satisfaction import FollowUpRate, satisfaction_for_regions

from .conftest import at

pytestmark = pytest.mark.django_db
ITEM21 = read(DEFAULT_CODE)["params"]["item21"]


@pytest.fixture
def followed_up(history, county_a, dept_x_user, region_a):
    """Five cases followed up: 3 满意, 1 基本满意, and one first 不满意, reopened, closed again and
    then 满意 — every answer counts: 5 of 6, 83.33%, in item 21's gap."""
    from tests.conftest import pdf_file

    for answer in ["satisfied", "satisfied", "satisfied", "basically_satisfied"]:
        case = history(at(2025, 3, 3), closed=at(2025, 3, 4))
        services.record_follow_up(case, by=county_a, satisfaction=answer, now=at(2025, 3, 6))
    case = history(at(2025, 3, 3), closed=at(2025, 3, 4))
    case = services.record_follow_up(case, by=county_a, satisfaction="dissatisfied", now=at(2025, 3, 5))
    case = services.reopen(case, by=county_a, reason="企业不满意", now=at(2025, 3, 5, 15))
    case = services.resolve(case, by=dept_x_user, result="已解决", evidence=[pdf_file()], now=at(2025, 3, 6))
    services.record_follow_up(case, by=county_a, satisfaction="satisfied", now=at(2025, 3, 9))
    return region_a


def test_every_answer_counts_and_the_gap_is_flagged(followed_up):
    rate = satisfaction_for_regions([followed_up], 2025)[followed_up.pk]
    assert (rate.satisfied, rate.basically_satisfied, rate.dissatisfied) == (4, 1, 1)
    assert rate.rate_text == "0.8333" and rate.points(ITEM21) == (4, True)
    assert satisfaction_for_regions([followed_up], 2024)[followed_up.pk].total == 0


def test_item_21s_ladder_boundaries():
    assert FollowUpRate(19, 0, 1).points(ITEM21) == (10, False)  # 95% exactly
    assert FollowUpRate(17, 1, 2).points(ITEM21) == (8, False)  # 90%
    assert FollowUpRate(3, 1, 1).points(ITEM21) == (4, True)  # 80%: the gap
    assert FollowUpRate(79, 0, 21).points(ITEM21) == (0, False)
    assert FollowUpRate(0, 0, 0).points(ITEM21) == (None, False)


def test_shown_beside_the_scores_and_offered_to_the_assessor(client, assessor, followed_up):
    client.force_login(assessor)
    board = client.get("/scoring/2025/").content.decode()
    assert "回访满意率" in board and "83.33%" in board
    sheet = client.get("/scoring/2025/411502/").content.decode()
    assert "回访满意率：83.33%" in sheet and "按第21项档次得 4 分" in sheet and "办法未规定区间" in sheet
    item = client.get("/scoring/2025/411502/items/21/")
    assert item.context["form"].initial["rate"] == "5/6"
    # The assessor confirms it with the participation figures: the item's points follow the ladder.
    saved = client.put(
        "/api/v1/scores/2025/411502/items/21/",
        {"inputs": {"rate": "5/6", "participating": "30", "above_scale": "25"}},
        content_type="application/json",
    )
    assert saved.status_code == 200 and saved.json()["points"] == "4"  # the gap value
    saved = client.put(
        "/api/v1/scores/2025/411502/items/21/",
        {"inputs": {"rate": "5/6", "participating": "20", "above_scale": "25"}},
        content_type="application/json",
    )
    assert saved.json()["points"] == "0"  # too few enterprises took part


def test_a_county_sees_only_its_own_rate(client, county_b, followed_up):
    client.force_login(county_b)
    sheet = client.get("/scoring/2025/411503/").content.decode()
    assert "尚无回访记录" in sheet
