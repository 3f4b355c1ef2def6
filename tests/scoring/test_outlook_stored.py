"""The outlook of the default question reads items 15 and 13 from the stored scores (as the
scoreboard does): the same numbers as the live computation, never a scan of the ledger on the
request, with the time they were computed ("计算于 HH:MM"); another cutoff is still scored live."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import time_machine
from django.test import override_settings

from cases import services as cases
from cases.models import Case
from scoring import outlook, snapshots
from tests.conftest import pdf_file

from .conftest import at, close_without_evidence

pytestmark = pytest.mark.django_db

BEFORE_CUTOFF = at(2025, 11, 20, 15)  # as of today: the cutoff 2025-12-20 is ahead
AFTER_CUTOFF = at(2026, 1, 5, 12)  # the year is final as of its cutoff


@pytest.fixture
def year_2025(history, make_case, region_a, region_b, county_b):
    """County A: on time, closed late, open past due, pending (due before and after the cutoff),
    a closing without evidence (item 13 lists it); county B: one open case."""
    for _ in range(6):
        history(at(2025, 3, 3), closed=at(2025, 3, 4))
    history(at(2025, 3, 3), closed=at(2025, 4, 30))
    history(at(2025, 10, 27), assigned=at(2025, 10, 27, 11))  # due 11-03: late
    for day in (13, 17, 18):  # due 11-20 … 11-25: pending
        history(at(2025, 11, day), assigned=at(2025, 11, day, 11))
    make_case(received_at=at(2025, 11, 19), now=at(2025, 11, 19), due_date=dt.date(2025, 12, 29))
    incomplete = history(at(2025, 3, 5), assigned=at(2025, 3, 5, 11))
    close_without_evidence(incomplete, at(2025, 3, 7))
    make_case(by=county_b, region=region_b, received_at=at(2025, 4, 3), now=at(2025, 4, 3))


def _without_stored_fields(result: outlook.Outlook) -> dict:
    data = dataclasses.asdict(result)
    data.pop("computed_at")
    data.pop("stale")
    return data


def _refuse_live_scoring(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the ledger was scanned on the request")

    monkeypatch.setattr(outlook, "timeliness_for_regions", refuse)
    monkeypatch.setattr(outlook, "reverify", refuse)
    monkeypatch.setattr(snapshots, "score_year", refuse)


@pytest.mark.parametrize("moment", [BEFORE_CUTOFF, AFTER_CUTOFF], ids=["as-of-today", "final"])
def test_the_outlook_from_the_snapshot_equals_the_live_outlook(year_2025, region_a, moment, monkeypatch):
    with time_machine.travel(moment, tick=False):
        today = moment.date()
        live = outlook.outlook_for(region_a, 2025, today=today)
        snapshots.refresh(2025, today=today)
        _refuse_live_scoring(monkeypatch)
        stored = outlook.stored_outlook(region_a, 2025, today=today)
    assert stored.computed_at is not None and stored.stale == ""
    assert live.computed_at is None
    assert _without_stored_fields(stored) == _without_stored_fields(live)
    assert outlook.sentence(stored) == outlook.sentence(live)
    expected = {**live.as_json(), "computed_at": stored.computed_at.isoformat()}
    assert stored.as_json() == expected
    # The facts are there to compare: counted, pending, incomplete.
    assert stored.incomplete and stored.item14 == live.item14
    if moment is BEFORE_CUTOFF:  # 7 of 9 on time (one without evidence), 3 pending, 1 due after
        assert (stored.now.on_time, stored.now.counted) == (7, 9)
        assert len(stored.pending) == 3 and stored.pending_after_cutoff == 1 and not stored.final
    else:  # the 3 pending are late now
        assert (stored.now.on_time, stored.now.counted) == (7, 12)
        assert stored.final and stored.pending == []


def test_the_page_and_the_api_read_the_snapshot_and_say_when(client, year_2025, county_a, monkeypatch):
    with time_machine.travel(BEFORE_CUTOFF, tick=False):
        snapshots.refresh(2025)
        live = outlook.outlook_for(county_a.profile.region, 2025, today=BEFORE_CUTOFF.date())
        _refuse_live_scoring(monkeypatch)
        client.force_login(county_a)
        page = client.get("/scoring/2025/411502/outlook/")
        api = client.get("/api/v1/scores/2025/outlook/")
    assert page.status_code == 200 and api.status_code == 200
    body = page.content.decode()
    assert "computed-at" in body and "计算于" in body
    assert outlook.sentence(live) in body
    data = api.json()
    assert data["computed_at"] is not None
    assert {**data, "computed_at": None} == live.as_json()


def test_the_page_costs_a_bounded_number_of_queries(
    client, year_2025, county_a, django_assert_max_num_queries, history
):
    with time_machine.travel(BEFORE_CUTOFF, tick=False):
        snapshots.refresh(2025)
        client.force_login(county_a)
        client.get("/scoring/2025/411502/outlook/")
        with django_assert_max_num_queries(19):
            first = client.get("/scoring/2025/411502/outlook/")
        for day in (3, 4, 5, 6):  # more cases: the same number of queries
            history(at(2025, 3, day), closed=at(2025, 3, day, 15))
            history(at(2025, 11, 14 + day), assigned=at(2025, 11, 14 + day, 11))
        snapshots.refresh(2025)
        with django_assert_max_num_queries(19):
            again = client.get("/scoring/2025/411502/outlook/")
    assert first.status_code == again.status_code == 200


@override_settings(SCORE_SNAPSHOT_INLINE_CASES=0)
def test_a_large_years_stale_snapshot_is_shown_with_its_time_until_the_refresh(
    client, year_2025, region_a, county_a, dept_x_user, monkeypatch
):
    with time_machine.travel(BEFORE_CUTOFF, tick=False):
        today = BEFORE_CUTOFF.date()
        snapshots.refresh(2025)
        before = outlook.stored_outlook(region_a, 2025, today=today)
        pending = Case.objects.get(number=before.pending[0].number)
        cases.acknowledge(pending, by=dept_x_user, now=at(2025, 11, 20, 14))
        cases.resolve(pending, by=dept_x_user, result="已解决", evidence=[pdf_file()], now=at(2025, 11, 20, 14, 30))
        stale = outlook.stored_outlook(region_a, 2025, today=today)
        # Read as it was computed (not scored on the page), and said to be behind.
        assert stale.stale == "changed" and stale.computed_at == before.computed_at
        assert stale.now == before.now
        client.force_login(county_a)
        assert "computed-at" in client.get("/scoring/2025/411502/outlook/").content.decode()
        snapshots.refresh(2025)
        fresh = outlook.stored_outlook(region_a, 2025, today=today)
        live = outlook.outlook_for(region_a, 2025, today=today)
    assert fresh.stale == "" and fresh.now.on_time == before.now.on_time + 1
    assert _without_stored_fields(fresh) == _without_stored_fields(live)


def test_another_cutoff_is_scored_live(client, year_2025, county_a):
    with time_machine.travel(BEFORE_CUTOFF, tick=False):
        snapshots.refresh(2025)
        client.force_login(county_a)
        data = client.get("/api/v1/scores/2025/outlook/", {"cutoff": "2025-11-24"}).json()
        page = client.get("/scoring/2025/411502/outlook/", {"cutoff": "2025-11-24"}).content.decode()
    assert data["computed_at"] is None and data["cutoff"] == "2025-11-24"
    assert "computed-at" not in page
