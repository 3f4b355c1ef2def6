"""The notice figures kept per region and period (``notices.figures``): equal to what drafting
gives, read by the draft page without drafting's queries while current, made stale by exactly the
entries that change them, refreshed by the embedded timers, and never issued stale."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from cases import services as cases
from notices import drafting, figures, periods, services
from notices.models import DraftFigures, Notice, Status
from tests.conftest import pdf_file

from .conftest import at

pytestmark = pytest.mark.django_db
MARCH = periods.parse("2026-03")


def _direct(region, period=MARCH) -> dict:
    with translation.override("zh-hans"):
        return drafting.compute(region, period)


# drafting.compute's own queries read these columns; the check whether stored figures are current does not.
DRAFTING_MARKERS = ('"to_state"', '"first_assigned_at"', '"reopen_count"')


def _drafting_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if any(m in q["sql"] for m in DRAFTING_MARKERS)]


@pytest.fixture
def march(make_case, county_a, county_b, region_b, dept_x, dept_x_user):
    """County A's March: routed, resolved, open and overdue cases; county B's one case."""

    def new(day, region=None, by=None):
        moment = at(day, 9)
        return make_case(received_at=moment, now=moment, region=region, by=by)

    made = {
        "overdue": cases.assign(new("2026-02-02"), by=county_a, department=dept_x, now=at("2026-02-03", 10)),
        "resolved": cases.resolve(
            cases.assign(new("2026-03-02"), by=county_a, department=dept_x, now=at("2026-03-02", 11)),
            by=dept_x_user,
            result="已协调解决",
            evidence=[pdf_file()],
            now=at("2026-03-04", 15),
        ),
        "unrouted": new("2026-03-10"),
        "other_county": new("2026-03-11", region=region_b, by=county_b),
    }
    return made


def test_stored_figures_are_what_drafting_gives(march, region_a, city):
    for region in (region_a, city):
        figures.refresh(region, MARCH)
        row = DraftFigures.objects.get(region=region, frequency=MARCH.frequency, period_start=MARCH.start)
        assert row.result == _direct(region)
        assert row.result["figures"]["received"] >= 2
        assert row.period_end == MARCH.end and row.seconds >= 0
        assert not figures.changed_since(region, MARCH, row.ledger_mark)


def test_the_draft_page_reads_current_figures_without_drafting(march, region_a, county_a, client):
    figures.refresh(region_a, MARCH)
    stored = figures.stored(region_a, MARCH)
    client.force_login(county_a)
    with CaptureQueriesContext(connection) as captured:
        response = client.post(f"/notices/regions/{region_a.code}/draft/", {"period": MARCH.key})
    assert response.status_code == 302
    assert _drafting_queries(captured) == []
    assert len(captured) <= 20
    notice = Notice.objects.get(region=region_a, period=MARCH.key, status=Status.DRAFTED)
    assert {"figures": notice.figures, "departments": notice.departments} == stored.result == _direct(region_a)
    assert notice.figures_mark == stored.ledger_mark
    assert notice.figures_computed_at == stored.computed_at

    # Drafted again: the draft already holds the current figures, whose JSON is neither read nor written.
    with CaptureQueriesContext(connection) as captured:
        response = client.post(f"/notices/regions/{region_a.code}/draft/", {"period": MARCH.key})
    assert response.status_code == 302
    big = ('"notices_draftfigures"."result"', '"notices_notice"."figures"', '"figures" =')
    assert [q["sql"] for q in captured.captured_queries if any(b in q["sql"] for b in big)] == []
    assert _drafting_queries(captured) == []
    again = Notice.objects.get(pk=notice.pk)
    assert again.figures == notice.figures and again.figures_mark == stored.ledger_mark

    # The draft page itself: current, so no "being updated" line.
    page = client.get(f"/notices/{notice.pk}/")
    assert page.status_code == 200
    assert "正在更新" not in page.content.decode()


def test_without_stored_figures_the_draft_computes_and_keeps_them(march, region_a, county_a):
    assert not DraftFigures.objects.exists()
    with CaptureQueriesContext(connection) as captured:
        notice = services.draft_notice(by=county_a, region=region_a, period=MARCH.key, now=at("2026-04-02"))
    assert _drafting_queries(captured)  # what the tests above see absent: drafting's queries
    row = figures.stored(region_a, MARCH)
    assert row is not None and notice.figures_mark == row.ledger_mark
    assert notice.figures == _direct(region_a)["figures"]


def test_what_makes_the_figures_stale(march, region_a, region_b, city, make_case, county_a, county_b, dept_x):
    for region in (region_a, city):
        figures.refresh(region, MARCH)
    mark_a = figures.stored(region_a, MARCH).ledger_mark
    mark_city = figures.stored(city, MARCH).ledger_mark

    # A later period's entry of the region changes nothing of March.
    make_case(received_at=at("2026-04-05", 9), now=at("2026-04-05", 9))
    cases.assign(march["unrouted"], by=county_a, department=dept_x, now=at("2026-04-06", 9))
    assert not figures.changed_since(region_a, MARCH, mark_a)
    assert not figures.changed_since(city, MARCH, mark_city)

    # Another county's March entry: stale for the city, not for county A.
    make_case(region=region_b, by=county_b, received_at=at("2026-03-20", 9), now=at("2026-03-20", 9))
    assert not figures.changed_since(region_a, MARCH, mark_a)
    assert figures.changed_since(city, MARCH, mark_city)


def test_an_entry_in_the_period_makes_them_stale(march, region_a, make_case):
    figures.refresh(region_a, MARCH)
    mark = figures.stored(region_a, MARCH).ledger_mark
    make_case(received_at=at("2026-03-30", 9), now=at("2026-03-30", 9))
    assert figures.changed_since(region_a, MARCH, mark)
    assert figures.stored(region_a, MARCH).result != _direct(region_a)


def test_a_case_entered_late_with_its_receipt_in_the_period_makes_them_stale(march, region_a, make_case):
    figures.refresh(region_a, MARCH)
    mark = figures.stored(region_a, MARCH).ledger_mark
    # Received on paper on 31 March, entered on 2 April: its entries are all dated April.
    make_case(received_at=at("2026-03-31", 9), now=at("2026-04-02", 9))
    assert figures.changed_since(region_a, MARCH, mark)
    assert figures.stored(region_a, MARCH).result["figures"]["received"] + 1 == _direct(region_a)["figures"]["received"]


def test_a_case_marked_supervised_later_makes_them_stale(march, region_a):
    figures.refresh(region_a, MARCH)
    mark = figures.stored(region_a, MARCH).ledger_mark
    # The figures list the overdue cases' 督办 flag as it is now.
    cases.mark_supervised(march["overdue"], now=at("2026-04-20", 9))
    assert figures.changed_since(region_a, MARCH, mark)
    assert march["overdue"].number in _direct(region_a)["figures"]["supervised"]
    assert march["overdue"].number not in figures.stored(region_a, MARCH).result["figures"]["supervised"]


def test_a_small_region_stale_is_computed_on_the_request(march, region_a, county_a, make_case):
    services.draft_notice(by=county_a, region=region_a, period=MARCH.key, now=at("2026-04-02"))
    make_case(received_at=at("2026-03-30", 9), now=at("2026-03-30", 9))
    notice = services.draft_notice(by=county_a, region=region_a, period=MARCH.key, now=at("2026-04-03"))
    assert notice.figures == _direct(region_a)["figures"]
    assert figures.is_current(notice)


def test_a_large_region_stale_shows_the_stored_figures_marked_then_the_timers_refresh(
    march, region_a, county_a, make_case, settings, client
):
    settings.NOTICE_FIGURES_INLINE_CASES = 0
    first = services.draft_notice(by=county_a, region=region_a, period=MARCH.key, now=at("2026-04-02"))
    make_case(received_at=at("2026-03-30", 9), now=at("2026-03-30", 9))

    # Drafted again (the draft page's button): the stored figures, not computed on the request.
    client.force_login(county_a)
    with CaptureQueriesContext(connection) as captured:
        client.post(f"/notices/regions/{region_a.code}/draft/", {"period": MARCH.key})
    assert _drafting_queries(captured) == []
    notice = Notice.objects.get(pk=first.pk)
    assert notice.figures == first.figures != _direct(region_a)["figures"]
    assert notice.figures_mark is None and not figures.is_current(notice)
    page = client.get(f"/notices/{notice.pk}/").content.decode()
    computed = timezone.localtime(notice.figures_computed_at)
    assert f"数据计算于 {computed:%Y-%m-%d %H:%M}，正在更新" in page or f"数据计算于 {computed:%H:%M}，正在更新" in page

    # The embedded default's timers round (no Celery): the open draft takes the new figures.
    call_command("run_timers", "--once", stdout=io.StringIO())
    notice.refresh_from_db()
    assert {"figures": notice.figures, "departments": notice.departments} == _direct(region_a)
    assert figures.is_current(notice)
    assert figures.stored(region_a, MARCH).result == _direct(region_a)
    assert "正在更新" not in client.get(f"/notices/{notice.pk}/").content.decode()


def test_the_timers_precompute_every_county_s_last_ended_period(march, region_a, region_b):
    call_command("run_timers", "--once", stdout=io.StringIO())
    period = periods.last_ended(timezone.localdate(), periods.MONTHLY)
    for region in (region_a, region_b):
        row = figures.stored(region, period)
        assert row is not None and row.result == _direct(region, period)
    # Nothing changed: the next round computes nothing.
    assert figures.refresh_due() == []


def test_issuing_with_stale_figures_issues_what_drafting_gives_then(
    march, region_a, county_a, make_case, schedule_for, settings
):
    settings.NOTICE_FIGURES_INLINE_CASES = 0  # the draft keeps its stale figures until issued
    schedule_for(region_a)
    draft = services.draft_notice(by=county_a, region=region_a, period=MARCH.key, now=at("2026-04-02"))
    services.update_draft(by=county_a, notice=draft, covering_text="三月份情况通报如下。")
    make_case(received_at=at("2026-03-31", 9), now=at("2026-04-02", 10))
    services.draft_notice(by=county_a, region=region_a, period=MARCH.key, now=at("2026-04-02", 11))
    assert Notice.objects.get(pk=draft.pk).figures != _direct(region_a)["figures"]

    issued = services.issue_notice(by=county_a, notice=draft, now=at("2026-04-03"))
    assert issued.status == Status.ISSUED
    assert {"figures": issued.figures, "departments": issued.departments} == _direct(region_a)
    assert issued.covering_text == "三月份情况通报如下。"


def test_issuing_with_current_figures_issues_them_unchanged(march, region_a, county_a, schedule_for):
    schedule_for(region_a)
    draft = services.draft_notice(by=county_a, region=region_a, period=MARCH.key, now=at("2026-04-02"))
    issued = services.issue_notice(by=county_a, notice=draft, now=at("2026-04-03"), confirm_empty_body=True)
    assert issued.figures == draft.figures == _direct(region_a)["figures"]
    assert issued.figures_mark == draft.figures_mark is not None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_mark_is_read_under_the_ledger_lock(march, region_a):
    from ledger.models import LedgerEntry

    mark = figures.safe_mark()
    assert mark == max(LedgerEntry.objects.values_list("pk", flat=True))
    figures.refresh(region_a, MARCH)
    assert figures.stored(region_a, MARCH).result == _direct(region_a)


def test_issuing_after_an_enterprise_was_renamed_at_a_later_intake_names_it_as_now(
    march, region_a, region_b, county_a, county_b, make_case, schedule_for
):
    schedule_for(region_a)
    draft = services.draft_notice(by=county_a, region=region_a, period=MARCH.key, now=at("2026-04-02"))
    overdue = march["overdue"]
    assert figures.is_current(draft, names=True)
    # The same enterprise (credit code) comes to county B in May under a new name.
    make_case(
        region=region_b,
        by=county_b,
        enterprise_name="信阳新名称实业有限公司",
        credit_code_value=overdue.enterprise.credit_code,
        received_at=at("2026-05-06", 9),
        now=at("2026-05-06", 9),
    )
    assert figures.is_current(draft)  # the numbers are current ...
    assert not figures.is_current(draft, names=True)  # ... the names may not be
    issued = services.issue_notice(by=county_a, notice=draft, now=at("2026-05-07"), confirm_empty_body=True)
    assert {"figures": issued.figures, "departments": issued.departments} == _direct(region_a)
    listed = {c["number"]: c["enterprise"] for c in issued.figures["overdue_cases"]}
    assert listed[overdue.number] == "信阳新名称实业有限公司"


def test_drafting_again_compares_with_a_previous_period_drafted_since(march, region_a, county_a):
    march_draft = services.draft_notice(by=county_a, region=region_a, period=MARCH.key, now=at("2026-04-02"))
    assert march_draft.changes is None
    services.draft_notice(by=county_a, region=region_a, period="2026-02", now=at("2026-04-03"))
    again = services.draft_notice(by=county_a, region=region_a, period=MARCH.key, now=at("2026-04-04"))
    assert again.changes is not None and again.changes["previous_period"] == "2026-02"
    assert again.figures == _direct(region_a)["figures"]


def test_with_celery_a_stale_large_region_queues_one_refresh_on_the_default_queue(
    march, region_a, county_a, make_case, settings, monkeypatch
):
    from notices import tasks

    settings.NOTICE_FIGURES_INLINE_CASES = 0
    # A worker runs them (tests/conftest.py's _celery_in_process puts the switch back afterwards).
    tasks.refresh_draft_figures_of.app.conf.task_always_eager = False
    queued = []
    monkeypatch.setattr(tasks.refresh_draft_figures_of, "apply_async", lambda **kwargs: queued.append(kwargs))
    services.draft_notice(by=county_a, region=region_a, period=MARCH.key, now=at("2026-04-02"))
    make_case(received_at=at("2026-03-30", 9), now=at("2026-03-30", 9))
    for _ in range(2):
        services.draft_notice(by=county_a, region=region_a, period=MARCH.key, now=at("2026-04-03"))
    assert queued == [{"args": [region_a.pk, MARCH.key], "queue": settings.CELERY_TASK_DEFAULT_QUEUE}]
    # The worker's run: recomputed, the draft updated, the queue open again.
    assert tasks.refresh_draft_figures_of(region_a.pk, MARCH.key) is True
    draft = Notice.objects.get(region=region_a, period=MARCH.key, status=Status.DRAFTED)
    assert draft.figures == _direct(region_a)["figures"] and figures.is_current(draft)
    assert settings.CELERY_BEAT_SCHEDULE["notices-refresh-figures"]["task"] == "notices.refresh_draft_figures"
