"""Drafted figures (SPEC §5) equal counts recomputed independently from the ledger."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
from django.utils.translation import gettext

from cases import services as cases
from cases.models import Case, local_date
from ledger.models import LedgerEntry
from notices import drafting, periods, services
from notices.models import Notice, Status
from tests.conftest import pdf_file

from .conftest import at

MARCH = periods.parse("2026-03")


@pytest.fixture
def seeded_march(
    make_case, county_a, county_b, region_b, dept_x, dept_y, dept_z, dept_x_user, dept_y_user, dept_z_user
):
    """A county's February–April, placed in time through the services' ``now=``."""

    def new(received: str, **kw):
        moment = at(received, 9)
        return make_case(received_at=moment, now=moment, **kw)

    def assign(case, when, dept=dept_x):
        return cases.assign(
            case,
            by=county_a if case.region_id == county_a.profile.region_id else county_b,
            department=dept,
            now=at(when, 11),
        )

    def resolve(case, when, user=dept_x_user, hour=15):
        return cases.resolve(case, by=user, result="已协调解决", evidence=[pdf_file()], now=at(when, hour))

    made = {}
    # Open since February, long overdue at the end of March, marked 督办.
    made["old_overdue"] = assign(new("2026-02-02"), "2026-02-03")
    # Received, routed and resolved in March, on time.
    made["resolved_on_time"] = resolve(assign(new("2026-03-02"), "2026-03-02"), "2026-03-04")
    # Explained in March, after its due date.
    c = assign(new("2026-03-03"), "2026-03-03", dept_y)
    made["explained_late"] = cases.explain(
        c,
        by=dept_y_user,
        result="不属于本部门职责",
        policy_basis="《信阳市企业服务办法》第五条",
        redirect_to="市场监管局",
        evidence=[pdf_file()],
        now=at("2026-03-25", 10),
    )
    # Never routed: open and overdue at the end of March, with no department.
    made["unrouted"] = new("2026-03-10")
    # Closed in February, reopened and closed again in March: counts once, by the latest closing.
    c = resolve(assign(new("2026-02-23"), "2026-02-24"), "2026-02-26")
    c = cases.reopen(c, by=county_a, reason="企业不满意", now=at("2026-03-03", 9))
    made["reopened"] = resolve(c, "2026-03-06")
    # Received late in March, routed in April.
    c = new("2026-03-30")
    made["routed_in_april"] = assign(c, "2026-04-01")
    # Routed in March, returned, routed again: one routed case.
    c = assign(new("2026-03-05"), "2026-03-06")
    c = cases.return_case(c, by=dept_x_user, reason="不属于我局", now=at("2026-03-07", 9))
    made["rerouted"] = assign(c, "2026-03-09", dept_y)
    # Closed at 23:30 on the last day of March (local time) and 00:10 on April 1.
    made["closed_last_minute"] = resolve(assign(new("2026-03-26"), "2026-03-26"), "2026-03-31", hour=23)
    c = assign(new("2026-03-27"), "2026-03-27")
    made["closed_in_april"] = cases.resolve(
        c, by=dept_x_user, result="已解决", evidence=[pdf_file()], now=at("2026-04-01", 0).replace(minute=10)
    )
    # Another county's case: outside county A's notice, inside the city's.
    made["other_county"] = cases.assign(
        new("2026-03-04", by=county_b, region=region_b), by=county_b, department=dept_z, now=at("2026-03-04", 11)
    )
    Case.objects.filter(pk=made["old_overdue"].pk).update(supervised=True)
    return made


def replay_to(chain, start: dt.date, end: dt.date):
    """(state, due date, closing in the period as (action, day, due) or None) of a chain as it
    stood at the end of ``end``."""
    state, due, closing = None, None, None
    for e in chain:
        day = local_date(e.occurred_at)
        if day > end:
            break
        if e.to_state:
            state = e.to_state
        if e.due_date:
            due = e.due_date
        if e.action in ("resolve", "explain") and day >= start:
            closing = (e.action, day, due)
    return state, due, closing


def recompute(case_ids, period: periods.Period) -> dict:
    """Walk every entry of every case in Python: the slow, obvious way, to check the SQL."""
    start, end = period.start, period.end
    after = end + dt.timedelta(days=1)
    entries = defaultdict(list)
    for e in LedgerEntry.objects.filter(case_id__in=case_ids).order_by("case_id", "occurred_at", "seq"):
        entries[e.case_id].append(e)
    result = {
        "received": 0,
        "assigned": 0,
        "resolved": 0,
        "explained": 0,
        "open": 0,
        "on_time": 0,
        "closed": 0,
        "overdue": set(),
        "supervised": set(),
    }
    for case in Case.objects.filter(pk__in=case_ids):
        chain = entries[case.pk]
        if start <= local_date(case.received_at) <= end:
            result["received"] += 1
        assigns = [e for e in chain if e.action == "assign"]
        if assigns and start <= local_date(assigns[0].occurred_at) <= end:
            result["assigned"] += 1
        state, due, closing = replay_to(chain, start, end)
        if closing:
            result["closed"] += 1
            result["resolved" if closing[0] == "resolve" else "explained"] += 1
            result["on_time"] += closing[1] <= closing[2]
        if state in ("received", "assigned"):
            result["open"] += 1
            if due < after:
                result["overdue"].add(case.number)
                if case.supervised:
                    result["supervised"].add(case.number)
    return result


def test_drafted_figures_equal_counts_recomputed_from_the_ledger(seeded_march, region_a):
    figures = drafting.compute(region_a, MARCH)["figures"]
    expected = recompute(Case.objects.filter(region=region_a).values_list("pk", flat=True), MARCH)

    for key in ("received", "assigned", "resolved", "explained", "open", "on_time", "closed"):
        assert figures[key] == expected[key], key
    assert set(figures["overdue"]) == expected["overdue"]
    assert set(figures["supervised"]) == expected["supervised"]
    # And the seeded story, told by hand.
    assert figures["received"] == 7
    assert figures["assigned"] == 5  # resolved_on_time, explained_late, rerouted (once), last-minute, 03-27
    assert (figures["resolved"], figures["explained"]) == (3, 1)
    assert figures["on_time_rate"] == "0.5000"  # reopened and explained cases closed late
    assert figures["supervised"] == [seeded_march["old_overdue"].number]
    assert seeded_march["unrouted"].number in figures["overdue"]
    assert seeded_march["other_county"].number not in figures["overdue"]


def test_overdue_cases_carry_department_and_days_overdue(seeded_march, region_a, dept_x):
    figures = drafting.compute(region_a, MARCH)["figures"]
    by_number = {c["number"]: c for c in figures["overdue_cases"]}

    old = by_number[seeded_march["old_overdue"].number]
    assert old["department"] == dept_x.name
    due = dt.date.fromisoformat(old["due_date"])
    assert old["days_overdue"] == (dt.date(2026, 4, 1) - due).days
    assert old["supervised"] is True
    assert by_number[seeded_march["unrouted"].number]["department"] == gettext("Not yet routed")


def test_department_table_sums_to_the_totals(seeded_march, region_a, dept_x, dept_y):
    computed = drafting.compute(region_a, MARCH)
    figures, table = computed["figures"], computed["departments"]

    assert sum(r["received"] for r in table) == figures["received"]
    assert sum(r["closed"] for r in table) == figures["resolved"] + figures["explained"]
    assert sum(r["on_time"] for r in table) == figures["on_time"]
    assert sum(r["overdue"] for r in table) == len(figures["overdue"])
    rows = {r["name"]: r for r in table}
    assert rows[dept_y.name]["closed"] == 1 and rows[dept_y.name]["on_time"] == 0
    assert rows[gettext("Not yet routed")]["received"] == 2  # never routed, and routed only in April


def test_city_notice_covers_every_county(seeded_march, city, region_a, region_b):
    city_figures = drafting.compute(city, MARCH)["figures"]
    a = drafting.compute(region_a, MARCH)["figures"]
    b = drafting.compute(region_b, MARCH)["figures"]

    assert city_figures["received"] == a["received"] + b["received"]
    assert city_figures["assigned"] == a["assigned"] + b["assigned"]
    assert city_figures["open"] == a["open"] + b["open"]


def test_figures_for_an_empty_period_are_zero_with_no_rate(region_a):
    figures = drafting.compute(region_a, periods.parse("2026-Q1"))["figures"]

    assert figures["received"] == figures["open"] == 0
    assert figures["on_time_rate"] is None
    assert figures["overdue"] == []


def test_drafting_twice_refreshes_the_one_draft(seeded_march, region_a, county_a, make_case):
    first = services.draft_notice(by=county_a, region=region_a, period="2026-03", now=at("2026-04-01"))
    services.update_draft(by=county_a, notice=first, covering_text="三月份情况通报如下。")
    moment = at("2026-03-31", 8)
    make_case(received_at=moment, now=at("2026-04-01", 9))

    second = services.draft_notice(by=county_a, region=region_a, period="2026-03", now=at("2026-04-02"))

    assert second.pk == first.pk
    assert Notice.objects.filter(region=region_a, period="2026-03").count() == 1
    assert second.figures["received"] == first.figures["received"] + 1
    assert second.covering_text == "三月份情况通报如下。"
    assert second.status == Status.DRAFTED


def test_changes_since_the_last_period_compare_with_the_previous_notice(seeded_march, region_a, county_a):
    february = services.draft_notice(by=county_a, region=region_a, period="2026-02", now=at("2026-03-01"))
    march = services.draft_notice(by=county_a, region=region_a, period="2026-03", now=at("2026-04-01"))

    assert march.changes["previous_period"] == "2026-02"
    assert march.changes["received"] == march.figures["received"] - february.figures["received"]
    assert march.changes["overdue"] == len(march.figures["overdue"]) - len(february.figures["overdue"])
    assert february.changes is None


def test_beat_drafting_drafts_the_period_that_ended_for_each_schedule(region_a, city, schedule_for):
    schedule_for(region_a)
    schedule_for(city, frequency="quarterly")

    drafted = services.draft_due_notices(now=at("2026-04-01", 1))
    again = services.draft_due_notices(now=at("2026-04-01", 2))

    assert sorted(n.period for n in drafted) == ["2026-03", "2026-Q1"]
    assert sorted(n.pk for n in again) == sorted(n.pk for n in drafted)
    assert Notice.objects.count() == 2


def test_draft_notices_command_drafts_by_hand_and_refuses_a_bad_period(region_a, schedule_for):
    from io import StringIO

    from django.core.management import CommandError, call_command

    schedule_for(region_a)
    out = StringIO()
    call_command("draft_notices", "--region", "411502", "--period", "2026-02", stdout=out)
    call_command("draft_notices", "--region", "411502", "--period", "2026-02", stdout=out)

    assert Notice.objects.filter(region=region_a, period="2026-02", status=Status.DRAFTED).count() == 1
    with pytest.raises(CommandError):
        call_command("draft_notices", "--region", "411502", "--period", "2026-13", stdout=out)


def test_beat_task_drafts_in_process(region_a, schedule_for):
    from notices.tasks import draft_due_notices

    schedule_for(region_a)
    ids = draft_due_notices.delay().get()

    assert Notice.objects.filter(pk__in=ids, region=region_a).count() == 1
