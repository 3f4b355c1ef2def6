"""Item 15 (办理时效及质量): counted, on time, pending, the ladder on exact fractions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cases import services
from scoring.item15 import timeliness_for_regions
from scoring.ladders import ladder, rate_str
from scoring.results import score_year
from scoring.rulesets import read
from scoring.scope import make_scope

from .conftest import at

PARAMS = read("xinyang-2012")["params"]["item15"]

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("on_time", "counted", "points", "gap"),
    [
        (19, 20, "4", False),  # exactly 95%
        (18, 20, "3", False),  # exactly 90%
        (17, 20, "2", False),  # exactly 85%
        (41, 50, "1", True),  # 82%: the 80–85 range the 2012 text leaves unscored
        (40, 50, "1", True),  # exactly 80%
        (39, 50, "0", False),  # 78%
        (1699, 2000, "1", True),  # 84.95%: would round to 85.0% but is below it
        (1899, 2000, "3", False),  # 94.95% rounds to 95.0% but earns 3
    ],
)
def test_ladder_uses_the_exact_fraction(on_time, counted, points, gap):
    rung = ladder(Fraction(on_time, counted), PARAMS)
    assert rung.points == Decimal(points)
    assert rung.rule_gap is gap


@given(st.integers(min_value=0, max_value=5000), st.integers(min_value=1, max_value=5000))
def test_ladder_never_rewards_a_lower_rate_more(a, b):
    low, high = sorted([Fraction(min(a, b), b), Fraction(min(a + 1, b), b)])
    assert ladder(low, PARAMS).points <= ladder(high, PARAMS).points


def test_rate_string_rounds_half_up_to_four_places():
    assert rate_str(181, 200) == "0.9050"
    assert rate_str(1, 3) == "0.3333"
    assert rate_str(2, 3) == "0.6667"
    assert rate_str(1, 8) == "0.1250"
    assert rate_str(1, 16) == "0.0625"
    assert rate_str(1, 32) == "0.0313"  # 0.03125 → half up
    assert rate_str(0, 5) == "0.0000"
    assert rate_str(5, 5) == "1.0000"
    assert rate_str(0, 0) is None


def _item15(region, year=2025, cutoff=None):
    regions, _ = timeliness_for_regions([region.pk], make_scope(year, cutoff))
    return regions[region.pk]


def test_on_time_late_open_overdue_and_pending(history, region_a):
    # Received Mon 2025-03-03: due 5 working days later, 2025-03-10.
    on_time = history(at(2025, 3, 3), closed=at(2025, 3, 10, 23, 50))
    late = history(at(2025, 3, 3), closed=at(2025, 3, 11, 0, 10))
    explained = history(at(2025, 3, 3), closed=at(2025, 3, 5), how="explain")
    overdue = history(at(2025, 3, 3), assigned=at(2025, 3, 3, 11))
    pending = history(at(2025, 12, 18), assigned=at(2025, 12, 18, 11))
    assert on_time.due_date == dt.date(2025, 3, 10)

    t = _item15(region_a)
    assert t.on_time == 2  # explained counts as handled
    assert t.late == sorted([late.number, overdue.number])
    assert t.closed_late == [late.number]
    assert t.open_late == [overdue.number]
    assert t.pending == [pending.number]
    assert t.counted == 4
    assert explained.number not in t.late


def test_open_case_due_on_the_cutoff_counts_as_late(history, region_a):
    # Received Fri 2025-12-12 → due Fri 2025-12-19; cutoff 12-19.
    case = history(at(2025, 12, 12))
    assert case.due_date == dt.date(2025, 12, 19)
    t = _item15(region_a, cutoff=dt.date(2025, 12, 19))
    assert t.open_late == [case.number]
    t = _item15(region_a, cutoff=dt.date(2025, 12, 18))
    assert t.pending == [case.number] and t.counted == 0


def test_cases_received_outside_the_year_or_after_the_cutoff_are_out_of_scope(history, region_a):
    history(at(2024, 12, 31, 23, 30), closed=at(2025, 1, 2))
    history(at(2025, 12, 21, 9), closed=at(2025, 12, 22))
    inside = history(at(2025, 12, 20, 23, 59), closed=at(2025, 12, 21, 9))
    t = _item15(region_a)
    assert t.in_scope == 1
    assert t.pending == [inside.number]  # closed only after the cutoff: open as of the cutoff, not yet due


def test_receipt_just_after_local_midnight_belongs_to_the_new_year(history, region_a):
    # 2026-01-01 00:30 Asia/Shanghai is 2025-12-31 16:30 UTC.
    case = history(at(2026, 1, 1, 0, 30), closed=at(2026, 1, 5))
    assert case.received_at.astimezone(dt.UTC).date() == dt.date(2025, 12, 31)
    assert _item15(region_a, year=2026).on_time == 1
    assert _item15(region_a, year=2025).in_scope == 0


def test_closing_just_after_local_midnight_of_the_day_after_due_is_late(history, region_a):
    # Due 2025-03-10; closed 2025-03-11 00:05 local (= 2025-03-10 16:05 UTC): late.
    case = history(at(2025, 3, 3), closed=at(2025, 3, 11, 0, 5))
    assert case.closed_at.astimezone(dt.UTC).date() == dt.date(2025, 3, 10)
    assert _item15(region_a).closed_late == [case.number]


def test_ledger_after_the_cutoff_does_not_count(history, region_a):
    # Closed on time, but reopened after the cutoff: as of the cutoff it was closed on time.
    reopened_later = history(at(2025, 12, 1), closed=at(2025, 12, 3), reopened=at(2025, 12, 22))
    # Overdue at the cutoff, closed after it: late.
    closed_later = history(at(2025, 12, 1), assigned=at(2025, 12, 1, 11))
    services.resolve(
        closed_later, by=closed_later.department and _dept_user(), result="ok", evidence=[_pdf()], now=at(2025, 12, 23)
    )
    t = _item15(region_a)
    assert t.on_time == 1
    assert t.open_late == [closed_later.number]
    assert reopened_later.number not in t.late


def _dept_user():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="dept_x")


def _pdf():
    from tests.conftest import pdf_file

    return pdf_file()


def test_reopened_case_counts_by_its_latest_closing(history, region_a):
    # First closing on time, reopened, closed again late → late.
    late_again = history(at(2025, 3, 3), closed=at(2025, 3, 5), reopened=at(2025, 3, 6), reclosed=at(2025, 3, 14))
    # First closing late? No: reopened and reclosed on time → on time.
    on_time_again = history(at(2025, 3, 3), closed=at(2025, 3, 4), reopened=at(2025, 3, 5), reclosed=at(2025, 3, 7))
    # Reopened and still open at the cutoff, past its due date → late.
    still_open = history(at(2025, 3, 3), closed=at(2025, 3, 4), reopened=at(2025, 3, 5))
    t = _item15(region_a)
    assert t.closed_late == [late_again.number]
    assert t.open_late == [still_open.number]
    assert t.on_time == 1 and on_time_again.number not in t.late


def test_approved_extension_moves_the_due_date_as_of_the_cutoff(history, region_a, county_a, dept_x_user):
    if not hasattr(services, "approve_extension"):
        pytest.skip("extensions not in cases.services yet")
    # Received Mon 2025-03-03, due 03-10; extended by 3 working days → 03-13; closed 03-12.
    case = history(at(2025, 3, 3), assigned=at(2025, 3, 3, 11))
    services.request_extension(case, by=dept_x_user, reason="需协调省级部门", days=3, now=at(2025, 3, 6))
    services.approve_extension(case, by=county_a, now=at(2025, 3, 7))
    services.resolve(case, by=dept_x_user, result="已解决", evidence=[_pdf()], now=at(2025, 3, 12))
    case.refresh_from_db()
    assert case.due_date == dt.date(2025, 3, 13)
    assert _item15(region_a).on_time == 1
    # An extension approved after the cutoff does not count: due 03-10 at a 03-11 cutoff.
    other = history(at(2025, 3, 3), assigned=at(2025, 3, 3, 11))
    services.request_extension(other, by=dept_x_user, reason="需协调", days=3, now=at(2025, 3, 7))
    services.approve_extension(other, by=county_a, now=at(2025, 3, 12))
    t = _item15(region_a, cutoff=dt.date(2025, 3, 11))
    assert other.number in t.open_late


def test_region_without_cases_is_not_assessable(db, region_b):
    board = score_year(2025)
    item = board.as_json(["411503"])["regions"][0]["items"]["15"]
    assert item == {
        "points": "0",
        "max": "4",
        "auto": True,
        "counted": 0,
        "on_time": 0,
        "rate": None,
        "rule_gap": False,
        "not_assessable": True,
        "late": [],
        "pending": [],
    }


def test_points_from_a_known_ledger(history, region_a):
    # 17 on time + 3 late of 20 → 85% → 2 points.
    for _ in range(17):
        history(at(2025, 3, 3), closed=at(2025, 3, 4))
    for _ in range(3):
        history(at(2025, 3, 3), closed=at(2025, 3, 20))
    item = score_year(2025).as_json(["411502"])["regions"][0]["items"]["15"]
    assert (item["points"], item["counted"], item["on_time"], item["rate"], item["rule_gap"]) == (
        "2",
        20,
        17,
        "0.8500",
        False,
    )


def _normalised(result, scope):
    """Item 15's facts per region and department, and item 13's outcome per region (chains
    without a stored verdict are judged, as scoring does)."""
    from scoring.item13 import completeness_from_scan

    regions, departments = result

    def flat(t):
        return (t.on_time, t.closed_late, t.open_late, t.pending)

    item13 = {pk: (c.total, c.incomplete) for pk, c in completeness_from_scan(regions, scope).items()}
    return (
        {pk: flat(t) for pk, t in regions.items()},
        {pk: {dept: flat(t) for dept, t in by_dept.items()} for pk, by_dept in departments.items()},
        item13,
    )


@pytest.mark.parametrize("cutoff", [dt.date(2025, 12, 20), dt.date(2025, 6, 30)])
def test_ledger_heads_give_what_the_entries_give(region_a, cutoff):
    """Chains that end before the cutoff are read from their ledger heads; forcing every case
    through the aggregate over its entries must give the same facts, case for case."""
    import io

    from django.core.management import call_command

    from cases.models import Region
    from ledger.models import LedgerHead

    call_command("generate_load", cases=500, year=2025, seed=11, stdout=io.StringIO())
    scope = make_scope(2025, cutoff)
    ids = list(Region.objects.filter(level="county").order_by("code").values_list("pk", flat=True))
    past_cutoff = LedgerHead.objects.filter(last_at__gte=scope.end).count()
    assert 0 < past_cutoff < LedgerHead.objects.count()  # both paths are taken
    from_heads = _normalised(timeliness_for_regions(ids, scope), scope)
    LedgerHead.objects.update(last_at=dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
    from_entries = _normalised(timeliness_for_regions(ids, scope), scope)
    assert from_heads == from_entries
    assert any(incomplete for _total, incomplete in from_heads[2].values())
    totals = [sum(len(t[i]) if isinstance(t[i], list) else t[i] for t in from_heads[0].values()) for i in range(4)]
    assert all(totals), totals  # on time, closed late, open late and pending all occur
