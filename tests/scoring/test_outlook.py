"""The outlook (SPEC §6, §8): item 15 as of today, the pending cases that decide it, best and worst
at the cutoff, and the fewest on-time closings for each step — on years built case by case, read
through the API; the arithmetic against a brute force over every k; reminding a department."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.models import LedgerEntry
from notifications.models import Delivery, Notification
from scoring.ladders import ladder
from scoring.outlook import fewest_on_time
from scoring.rulesets import DEFAULT_CODE, read

from .conftest import at, close_without_evidence

pytestmark = pytest.mark.django_db

ITEM15 = {
    "ladder": [["0.95", "4"], ["0.90", "3"], ["0.85", "2"]],
    "gap_from": "0.80",
    "gap_points": "1",
    "below_points": "0",
}
TODAY = at(2025, 11, 20, 15)  # a Thursday; the cutoff is 2025-12-20


def _on_time(history, n):
    # Received on a Monday, closed the next day: on time.
    return [history(at(2025, 3, 3), closed=at(2025, 3, 4)) for _ in range(n)]


def _closed_late(history, n):
    return [history(at(2025, 3, 3), closed=at(2025, 4, 30)) for _ in range(n)]


def _open_late(history, n):
    return [history(at(2025, 10, 27), assigned=at(2025, 10, 27, 11)) for _ in range(n)]  # due 11-03


def _pending(history, received_days):
    """Open cases received on these November days: due five working days later (before 12-20)."""
    return [history(at(2025, 11, day), assigned=at(2025, 11, day, 11)) for day in received_days]


def _outlook(client, user, region="411502", **query):
    client.force_login(user)
    with time_machine.travel(TODAY, tick=False):
        response = client.get("/api/v1/scores/2025/outlook/", {"region": region, **query})
    assert response.status_code == 200, response.content
    return response.json()


def test_ladder_boundary_two_pending_one_must_close_on_time_to_keep_four_points(client, county_a, history):
    _on_time(history, 18)
    pending = _pending(history, [19, 17])  # due 11-26 and 11-24
    data = _outlook(client, county_a)
    item15 = data["item15"]
    assert (data["as_of"], data["cutoff"], data["region"]) == ("2025-11-20", "2025-12-20", "411502")
    assert (item15["counted"], item15["on_time"], item15["points"], item15["rate"]) == (18, 18, "4", "1.0000")
    # Ordered by due date, with department and state.
    assert [p["number"] for p in item15["pending"]] == [pending[1].number, pending[0].number]
    assert [p["due_date"] for p in item15["pending"]] == ["2025-11-24", "2025-11-26"]
    assert {p["department"] for p in item15["pending"]} == {"浉河区工信局"}
    assert {p["state"] for p in item15["pending"]} == {"assigned"}
    assert item15["best"] == {"points": "4", "rate": "1.0000", "rule_gap": False}
    assert item15["worst"] == {"points": "3", "rate": "0.9000", "rule_gap": False}  # 18/20: exactly 90%
    assert item15["steps"] == {"4": 1, "3": 0, "2": 0, "1": 0, "0": 0}


def test_exactly_95_percent_keeps_four_points_even_if_the_pending_case_is_late(client, county_a, history):
    _on_time(history, 19)
    _pending(history, [18])
    item15 = _outlook(client, county_a)["item15"]
    assert item15["worst"] == {"points": "4", "rate": "0.9500", "rule_gap": False}  # 19/20
    assert item15["steps"]["4"] == 0


def test_the_gap_is_flagged_and_steps_out_of_reach_are_null(client, county_a, history):
    _on_time(history, 8)
    _closed_late(history, 2)
    _pending(history, [17, 18])
    item15 = _outlook(client, county_a)["item15"]
    assert (item15["counted"], item15["on_time"], item15["points"], item15["rate"]) == (10, 8, "1", "0.8000")
    assert item15["rule_gap"] is True
    assert item15["best"] == {"points": "1", "rate": "0.8333", "rule_gap": True}  # 10/12
    assert item15["worst"] == {"points": "0", "rate": "0.6667", "rule_gap": False}  # 8/12
    # 1 point needs 9.6 on time of 12: both; 2 points needs 10.2: out of reach.
    assert item15["steps"] == {"4": None, "3": None, "2": None, "1": 2, "0": 0}


def test_no_pending_case_best_and_worst_are_today(client, county_a, history):
    _on_time(history, 9)
    _closed_late(history, 1)
    item15 = _outlook(client, county_a)["item15"]
    assert item15["pending"] == []
    assert item15["points"] == item15["best"]["points"] == item15["worst"]["points"] == "3"  # 90%
    assert item15["steps"] == {"4": None, "3": 0, "2": 0, "1": 0, "0": 0}


def test_open_cases_past_their_due_date_are_late_not_pending(client, county_a, history):
    _on_time(history, 2)
    late = _open_late(history, 3)
    item15 = _outlook(client, county_a)["item15"]
    assert (item15["counted"], item15["on_time"], item15["points"]) == (5, 2, "0")
    assert item15["pending"] == []
    assert item15["best"]["points"] == item15["worst"]["points"] == "0"
    assert item15["steps"] == {"4": None, "3": None, "2": None, "1": None, "0": 0}
    assert all(case.due_date < TODAY.date() for case in late)


def test_a_case_due_today_is_pending_and_one_due_after_the_cutoff_is_left_out(client, county_a, history, make_case):
    due_today = _pending(history, [13])[0]  # received 11-13: due 11-20
    assert due_today.due_date == TODAY.date()
    beyond = make_case(received_at=at(2025, 11, 19), now=at(2025, 11, 19), due_date=dt.date(2025, 12, 29))
    item15 = _outlook(client, county_a)["item15"]
    assert [p["number"] for p in item15["pending"]] == [due_today.number]
    assert item15["pending_after_cutoff"] == 1 and beyond.number not in str(item15["pending"])
    assert item15["counted"] == 0 and item15["points"] == "0"
    assert item15["best"]["points"] == "4" and item15["worst"]["points"] == "0"
    assert item15["steps"] == {"4": 1, "3": 1, "2": 1, "1": 1, "0": 0}


def test_no_case_at_all_is_not_assessable(client, county_a):
    item15 = _outlook(client, county_a)["item15"]
    assert item15["counted"] == 0 and item15["rate"] is None and item15["points"] == "0"
    assert item15["steps"] == {"4": None, "3": None, "2": None, "1": None, "0": 0}


def test_a_cutoff_in_the_query_moves_the_horizon(client, county_a, history):
    _pending(history, [17, 18])  # due 11-24 and 11-25
    data = _outlook(client, county_a, cutoff="2025-11-24")
    assert data["cutoff"] == "2025-11-24"
    assert len(data["item15"]["pending"]) == 1 and data["item15"]["pending_after_cutoff"] == 1


def test_item13_and_item14_parts(client, county_a, history):

    _on_time(history, 1)
    incomplete = history(at(2025, 3, 3), assigned=at(2025, 3, 3, 11))
    # A closing recorded without evidence (as old imported ledgers have) makes the ledger incomplete.
    close_without_evidence(incomplete, at(2025, 3, 5))
    data = _outlook(client, county_a)
    assert data["item13"]["incomplete"] == [{"number": incomplete.number, "missing": ["evidence"]}]
    assert data["item14"] == {
        "schedule": None,
        "periods_due_by_cutoff": [],
        "missing": [],
        "lost": [],
        "next_due": None,
    }


def test_item14_lists_the_periods_due_by_the_cutoff_and_the_next_deadline(client, county_a, region_a):
    from notices import services as notices

    notices.save_schedule(
        by=county_a,
        region=region_a,
        frequency="monthly",
        start_date=dt.date(2025, 1, 1),
        recipients=[
            {"group": g, "name": g, "email": f"{g}@example.invalid"}
            for g in ("city_office", "local_leader", "department_leader")
        ],
        now=at(2025, 1, 2),
    )
    item14 = _outlook(client, county_a)["item14"]
    assert item14["periods_due_by_cutoff"] == [f"2025-{m:02d}" for m in range(1, 12)]
    assert item14["missing"] == item14["periods_due_by_cutoff"]
    # Notices count until the next period ends: 01…09 are lost by 11-20; 10 may go out until 11-30.
    assert item14["lost"] == [f"2025-{m:02d}" for m in range(1, 10)]
    assert item14["next_due"] == "2025-11-30"


def test_a_county_reads_only_its_own_outlook(client, county_a, county_b, city_user):
    client.force_login(county_b)
    with time_machine.travel(TODAY, tick=False):
        assert client.get("/api/v1/scores/2025/outlook/", {"region": "411502"}).status_code == 404
        own = client.get("/api/v1/scores/2025/outlook/")  # a county office may leave the region out
        assert own.status_code == 200 and own.json()["region"] == "411503"
        client.force_login(city_user)
        missing = client.get("/api/v1/scores/2025/outlook/")
        assert missing.status_code == 400 and "region" in missing.json()
        assert client.get("/api/v1/scores/2025/outlook/", {"region": "999999"}).status_code == 404
        assert (
            client.get("/api/v1/scores/2025/outlook/", {"region": "411502", "cutoff": "2024-12-20"}).status_code == 400
        )


@settings(max_examples=300, deadline=None)
@given(on_time=st.integers(0, 60), late=st.integers(0, 60), pending=st.integers(0, 60))
def test_steps_are_the_least_k_a_brute_force_finds(on_time, late, pending):
    params = read(DEFAULT_CODE)["params"]["item15"]
    counted = on_time + late
    steps = fewest_on_time(on_time, counted, pending, params)
    total = counted + pending
    for points, need in steps.items():
        reaching = [
            k
            for k in range(pending + 1)
            if total and ladder(Fraction(on_time + k, total), params).points >= Decimal(points)
        ]
        if not total:
            reaching = [0] if Decimal(points) <= Decimal(params["below_points"]) else []
        assert need == (min(reaching) if reaching else None)


def test_remind_the_department_writes_a_note_an_inbox_message_and_an_email(client, county_a, history, dept_x_user):
    dept_x_user.email = "dept-x@example.invalid"
    dept_x_user.save()
    case = _pending(history, [17])[0]
    client.force_login(county_a)
    with time_machine.travel(TODAY, tick=False):
        page = client.get("/scoring/2025/411502/outlook/")
        assert page.status_code == 200
        text = page.content.decode()
        assert "还有 1 件在办" in text and "提醒责任单位" in text and case.number in text
        response = client.post("/scoring/2025/411502/outlook/remind/", {"case": case.number})
        assert response.status_code == 302
        again = client.post("/scoring/2025/411502/outlook/remind/", {"case": case.number}, follow=True)
        assert "今天已提醒" in again.content.decode()
    note = LedgerEntry.objects.get(case=case, action="note")
    assert note.payload["purpose"] == "reminder" and note.payload["department_name"] == "浉河区工信局"
    assert note.from_state == note.to_state == "assigned"
    inbox = Notification.objects.get(user=dept_x_user, kind="reminder")
    assert inbox.case_id == case.pk and case.number in inbox.message
    assert Delivery.objects.filter(notification=inbox, address="dept-x@example.invalid").exists()


def test_only_the_office_may_remind_and_only_its_own_cases(client, county_b, dept_x_user, history):
    case = _pending(history, [17])[0]
    with time_machine.travel(TODAY, tick=False):
        client.force_login(county_b)
        assert client.post("/scoring/2025/411502/outlook/remind/", {"case": case.number}).status_code == 404
        assert client.post("/scoring/2025/411503/outlook/remind/", {"case": case.number}).status_code == 404
        client.force_login(dept_x_user)
        assert client.post("/scoring/2025/411502/outlook/remind/", {"case": case.number}).status_code == 404
    assert not LedgerEntry.objects.filter(case=case, action="note").exists()


def test_the_sentence_says_the_points_are_safe_rather_than_at_least_none_on_time():
    from types import SimpleNamespace

    from django.utils import translation

    from scoring.outlook import sentence

    safe = SimpleNamespace(
        pending=[object()] * 9,
        now=SimpleNamespace(points=Decimal("3")),
        final=False,
        keep_points=0,
        best=SimpleNamespace(points=Decimal("3")),
        steps={"4": None, "3": 0},
    )
    with translation.override("zh-hans"):
        assert sentence(safe) == "还有 9 件在办（截止日前到期），即使全部逾期，第15项仍保持 3 分。"
        assert sentence(SimpleNamespace(**{**vars(safe), "keep_points": 2})) == (
            "还有 9 件在办，至少 2 件按期办结可保持 3 分。"
        )
