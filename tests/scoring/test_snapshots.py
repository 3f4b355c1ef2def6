"""The stored scores (scoring.snapshots): the pages read them, never score the year on the view,
and they say what the live scoring says for the same ledger."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import services as case_services
from scoring import services, snapshots
from scoring.models import ScoreSnapshot
from scoring.results import score_year
from tests.conftest import pdf_file

from .conftest import at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def year_2025(history, county_b, region_b, dept_z, dept_z_user):
    """Two counties' cases: on time, late, open past due, reopened; an entry and an override."""
    history(at(2025, 3, 3), closed=at(2025, 3, 4))
    history(at(2025, 3, 5), closed=at(2025, 5, 20))  # closed late
    history(at(2025, 4, 1), assigned=at(2025, 4, 1, 11))  # open, past due
    history(at(2025, 5, 6), closed=at(2025, 5, 7), reopened=at(2025, 5, 9), reclosed=at(2025, 5, 10))
    history(
        at(2025, 6, 2),
        closed=at(2025, 6, 3),
        by=county_b,
        department=dept_z,
        department_user=dept_z_user,
        region=region_b,
    )


def _no_scoring(monkeypatch):
    """Scoring the year on the request fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("the year was scored on the request")

    monkeypatch.setattr(snapshots, "score_year", refuse)
    monkeypatch.setattr("scoring.views.score_year", refuse)
    monkeypatch.setattr("scoring.services.score_year", refuse)


def _ledger_reads(captured) -> list[str]:
    """The SQL that read ledger entries, beyond the one-row look at the last entry's id."""
    return [
        q["sql"]
        for q in captured.captured_queries
        if "ledger_ledgerentry" in q["sql"] and not q["sql"].startswith('SELECT MAX("ledger_ledgerentry"."id")')
    ]


@pytest.mark.parametrize("today", [dt.date(2026, 1, 5), dt.date(2025, 6, 30)])
def test_the_stored_bytes_are_the_live_scoring_bytes(year_2025, assessor, region_a, region_b, today):
    services.set_item_points(2025, region_a, 1, by=assessor, points="5", note="资料齐全")
    services.set_item_points(2025, region_b, 15, by=assessor, points="2", note="复核扣分")
    with time_machine.travel(dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC), tick=False):
        live = score_year(2025, today=today)
        snapshots.refresh(2025, today=today)
        for codes in (None, [region_a.code], [region_b.code]):
            assert snapshots.stored_bytes(2025, region_codes=codes, today=today) == live.to_bytes(codes)
    data = json.loads(live.to_bytes())
    assert data.get("provisional", False) is (today <= dt.date(2025, 12, 20))


def test_scoreboard_and_api_read_the_snapshot_not_the_ledger(client, year_2025, assessor, monkeypatch):
    snapshots.refresh(2025)
    _no_scoring(monkeypatch)
    client.force_login(assessor)
    with CaptureQueriesContext(connection) as captured:
        page = client.get("/scoring/2025/")
        api = client.get("/api/v1/scores/2025/")
    assert page.status_code == 200 and api.status_code == 200
    assert _ledger_reads(captured) == []
    assert "computed-at" in page.content.decode()
    ranked = page.context["regions"]
    assert [r.total for r in ranked] == sorted((r.total for r in ranked), reverse=True)


def test_an_entry_shows_at_once_without_a_refresh(client, year_2025, assessor, region_a, monkeypatch):
    snapshots.refresh(2025)
    before = snapshots.stored_board(2025).board.region(region_a.code).total
    computed_at = ScoreSnapshot.objects.get(year=2025).computed_at
    services.set_item_points(2025, region_a, 2, by=assessor, points="3", note="")
    _no_scoring(monkeypatch)
    client.force_login(assessor)
    data = client.get("/api/v1/scores/2025/?region=411502").json()
    assert data["regions"][0]["items"]["2"]["points"] == "3"
    assert snapshots.stored_board(2025).board.region(region_a.code).total == before + 3
    assert ScoreSnapshot.objects.get(year=2025).computed_at == computed_at  # not recomputed


def test_a_large_years_stale_snapshot_is_shown_and_refreshed_off_the_request(
    client, year_2025, history, assessor, settings, monkeypatch
):
    settings.SCORE_SNAPSHOT_INLINE_CASES = 0  # every year counts as large: never scored on the view
    snapshot = snapshots.refresh(2025)
    old_total = snapshot.summary["411502"]["15"]
    history(at(2025, 7, 1), closed=at(2025, 9, 30))  # one more late case: the ledger moved on
    client.force_login(assessor)
    with monkeypatch.context() as patched:
        _no_scoring(patched)
        board = snapshots.stored_board(2025)
        assert board.stale == "changed"
        assert client.get("/scoring/2025/").status_code == 200
    assert ScoreSnapshot.objects.get(year=2025).summary["411502"]["15"] == old_total
    assert snapshots.refresh_due(today=dt.date(2026, 1, 5)) == [2025, 2026]
    fresh = ScoreSnapshot.objects.get(year=2025)
    assert fresh.marks == snapshots.current_marks(fresh.rule_set)
    assert snapshots.stored_board(2025).stale == ""
    live = score_year(2025, today=dt.date(2026, 1, 5)).region("411502").items[15]
    assert fresh.summary["411502"]["15"]["rate"] == live.detail.rate_text
    assert snapshots.refresh_due(today=dt.date(2026, 1, 5)) == []  # nothing changed: nothing scored


def test_a_small_year_is_scored_again_on_the_view_when_stale(client, year_2025, history, assessor):
    snapshots.refresh(2025)
    case = history(at(2025, 7, 1), closed=at(2025, 9, 30))
    client.force_login(assessor)
    data = client.get("/api/v1/scores/2025/?region=411502").json()
    assert case.number in data["regions"][0]["items"]["15"]["late"]


def test_no_snapshot_yet_is_computed_once_and_stored(client, year_2025, assessor):
    assert not ScoreSnapshot.objects.exists()
    client.force_login(assessor)
    client.get("/scoring/2025/")
    first = ScoreSnapshot.objects.get(year=2025)
    client.get("/scoring/2025/")
    assert ScoreSnapshot.objects.get(year=2025).computed_at == first.computed_at


def test_a_new_day_makes_the_provisional_snapshot_stale():
    snapshots.refresh(2026, today=dt.date(2026, 5, 4))
    q = snapshots.question(2026, dt.date(2026, 5, 5))
    snapshot = ScoreSnapshot.objects.get(year=2026)
    assert (snapshot.as_of, snapshot.as_of_today) == (dt.date(2026, 5, 4), True)
    assert snapshots.stale_reason(snapshot, q) == "day"


def test_the_embedded_timers_refresh_stale_snapshots(year_2025, history, settings):
    settings.SCORE_SNAPSHOT_INLINE_CASES = 0
    snapshots.refresh(2025)
    history(at(2025, 7, 1), closed=at(2025, 9, 30))
    before = ScoreSnapshot.objects.get(year=2025)
    assert before.marks != snapshots.current_marks(before.rule_set)
    call_command("run_timers", "--once", stdout=open("/dev/null", "w"))
    after = ScoreSnapshot.objects.get(year=2025)
    assert after.computed_at > before.computed_at
    assert after.marks == snapshots.current_marks(after.rule_set)


def test_with_celery_a_case_change_queues_one_refresh_a_minute(
    settings, assigned_case, dept_x_user, monkeypatch, django_capture_on_commit_callbacks
):
    from scoring import tasks

    settings.CELERY_TASK_ALWAYS_EAGER = False
    queued = []
    monkeypatch.setattr(tasks.refresh_snapshots, "apply_async", lambda **kwargs: queued.append(kwargs))
    with django_capture_on_commit_callbacks(execute=True):
        case = case_services.acknowledge(assigned_case, by=dept_x_user)
    with django_capture_on_commit_callbacks(execute=True):
        case_services.resolve(case, by=dept_x_user, result="已解决", evidence=[pdf_file()])
    assert queued == [{"countdown": 60}]
    assert settings.CELERY_BEAT_SCHEDULE["scoring-refresh-snapshots"]["task"] == "scoring.tasks.refresh_snapshots"


def test_without_celery_a_case_change_scores_nothing(
    assigned_case, dept_x_user, monkeypatch, django_capture_on_commit_callbacks
):
    _no_scoring(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        case_services.acknowledge(assigned_case, by=dept_x_user)  # the timers' round refreshes instead
    assert callbacks  # the change was announced; scoring queued nothing and scored nothing


def test_the_dashboard_says_when_its_score_was_computed(client, county_a, monkeypatch):
    client.force_login(county_a)
    body = client.get("/").content.decode()
    snapshot = ScoreSnapshot.objects.get()
    from django.utils import timezone

    assert f"计算于 {timezone.localtime(snapshot.computed_at):%H:%M}" in body
    cache.clear()
    _no_scoring(monkeypatch)  # a snapshot of today exists: the next view reads it
    assert client.get("/").status_code == 200


def test_a_frozen_year_is_scored_again_for_its_cutoff_only(year_2025, history, settings):
    settings.SCORE_SNAPSHOT_INLINE_CASES = 0
    snapshots.refresh(2025, today=dt.date(2025, 12, 1))  # provisional, as of 1 December
    with time_machine.travel(dt.datetime(2026, 1, 5, 4, tzinfo=dt.UTC), tick=False):
        services.freeze(2025)
        assert 2025 in snapshots.refresh_due(today=dt.date(2026, 1, 5))  # the cutoff's day: once
        final = ScoreSnapshot.objects.get(year=2025)
        assert (final.as_of, final.as_of_today) == (dt.date(2025, 12, 20), False)
        history(at(2026, 1, 4), closed=at(2026, 1, 5))  # next year's case: 2025's items stay
        assert 2025 not in snapshots.refresh_due(today=dt.date(2026, 1, 5))
        live = score_year(2025, today=dt.date(2026, 1, 5))
        assert snapshots.stored_bytes(2025, region_codes=None, today=dt.date(2026, 1, 5)) == live.to_bytes()
