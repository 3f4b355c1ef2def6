"""Item 14's evidence (SPEC §6): periods due, served and missing for a region, year and cutoff."""

from __future__ import annotations

import datetime as dt

from notices.evidence import Item14Evidence, item14_evidence, item14_evidence_for_regions

CUTOFF = dt.date(2025, 12, 20)
MONTHS_DUE = [f"2025-{m:02d}" for m in range(1, 12)]  # December ends after the cutoff


def _serve_months(register, region, months, *, day=5):
    """Issue each month's notice on the ``day``-th of the following month."""
    ids = {}
    for key in months:
        year, month = map(int, key.split("-"))
        following = dt.date(year + (month == 12), month % 12 + 1, day)
        ids[key] = register(region, key, following).pk
    return ids


def test_every_period_served_gives_no_missing_period(region_a, schedule_for, register):
    schedule_for(region_a)
    ids = _serve_months(register, region_a, MONTHS_DUE)

    evidence = item14_evidence(region_a, 2025, CUTOFF)

    assert evidence == Item14Evidence(
        schedule="monthly",
        periods_due=MONTHS_DUE,
        periods_served=MONTHS_DUE,
        missing_periods=[],
        notices={key: [ids[key]] for key in MONTHS_DUE},
    )


def test_one_period_without_a_notice_is_missing(region_a, schedule_for, register):
    schedule_for(region_a)
    _serve_months(register, region_a, [m for m in MONTHS_DUE if m != "2025-05"])

    evidence = item14_evidence(region_a, 2025, CUTOFF)

    assert evidence.missing_periods == ["2025-05"]
    assert evidence.periods_served == [m for m in MONTHS_DUE if m != "2025-05"]
    assert evidence.notices["2025-05"] == []


def test_notice_issued_after_the_following_period_ended_is_too_late(region_a, schedule_for, register):
    schedule_for(region_a)
    _serve_months(register, region_a, [m for m in MONTHS_DUE if m != "2025-03"])
    late = register(region_a, "2025-03", "2025-05-01")  # April ended on 04-30

    evidence = item14_evidence(region_a, 2025, CUTOFF)

    assert evidence.missing_periods == ["2025-03"]
    assert evidence.notices["2025-03"] == [late.pk]


def test_notice_issued_on_the_last_day_of_the_following_period_is_in_time(region_a, schedule_for, register):
    schedule_for(region_a)
    _serve_months(register, region_a, [m for m in MONTHS_DUE if m != "2025-03"])
    register(region_a, "2025-03", "2025-04-30")

    assert item14_evidence(region_a, 2025, CUTOFF).missing_periods == []


def test_notice_missing_a_recipient_group_does_not_serve_its_period(region_a, schedule_for, register):
    schedule_for(region_a)
    _serve_months(register, region_a, [m for m in MONTHS_DUE if m != "2025-07"])
    partial = register(region_a, "2025-07", "2025-08-03", groups=["city_office", "local_leader"])

    evidence = item14_evidence(region_a, 2025, CUTOFF)

    assert evidence.missing_periods == ["2025-07"]
    assert evidence.notices["2025-07"] == [partial.pk]


def test_quarterly_schedule_counts_quarters_ended_by_the_cutoff(region_a, schedule_for, register):
    schedule_for(region_a, frequency="quarterly")
    register(region_a, "2025-Q1", "2025-04-10")
    register(region_a, "2025-Q3", "2025-10-09")
    # Monthly notices do not serve a quarterly schedule.
    register(region_a, "2025-05", "2025-06-02")

    evidence = item14_evidence(region_a, 2025, CUTOFF)

    assert evidence.schedule == "quarterly"
    assert evidence.periods_due == ["2025-Q1", "2025-Q2", "2025-Q3"]
    assert evidence.periods_served == ["2025-Q1", "2025-Q3"]
    assert evidence.missing_periods == ["2025-Q2"]


def test_region_without_schedule_has_no_periods_due(region_a, register):
    register(region_a, "2025-01", "2025-02-03")

    evidence = item14_evidence(region_a, 2025, CUTOFF)

    assert evidence == Item14Evidence(schedule=None, periods_due=[], periods_served=[], missing_periods=[], notices={})


def test_schedule_starting_after_the_cutoff_did_not_exist_yet(region_a, schedule_for):
    schedule_for(region_a, start_date=dt.date(2026, 1, 1))

    assert item14_evidence(region_a, 2025, CUTOFF).schedule is None
    assert item14_evidence(region_a, 2026, dt.date(2026, 12, 20)).schedule == "monthly"


def test_periods_due_ignore_the_schedule_start_date(region_a, schedule_for):
    schedule_for(region_a, start_date=dt.date(2025, 9, 1))

    evidence = item14_evidence(region_a, 2025, CUTOFF)

    assert evidence.periods_due == MONTHS_DUE
    assert evidence.missing_periods == MONTHS_DUE


def test_notice_issued_after_the_cutoff_does_not_count(region_a, schedule_for, register):
    schedule_for(region_a)
    _serve_months(register, region_a, [m for m in MONTHS_DUE if m != "2025-11"])
    register(region_a, "2025-11", "2025-12-22")

    evidence = item14_evidence(region_a, 2025, CUTOFF)

    assert evidence.missing_periods == ["2025-11"]
    # With a cutoff at the year's end it was in time, and December is due (and missing) instead.
    assert item14_evidence(region_a, 2025, dt.date(2025, 12, 31)).missing_periods == ["2025-12"]


def test_cutoff_early_in_the_year_has_only_the_periods_ended_by_then(region_a, schedule_for, register):
    schedule_for(region_a)
    register(region_a, "2025-01", "2025-02-10")

    evidence = item14_evidence(region_a, 2025, dt.date(2025, 3, 30))

    assert evidence.periods_due == ["2025-01", "2025-02"]
    assert evidence.missing_periods == ["2025-02"]


def test_evidence_for_many_regions_takes_two_queries(
    region_a, region_b, city, schedule_for, register, django_assert_num_queries
):
    schedule_for(region_a)
    schedule_for(city, frequency="quarterly")
    _serve_months(register, region_a, MONTHS_DUE)
    register(city, "2025-Q1", "2025-04-03")

    # One query for the schedules, one for the notices of the year.
    with django_assert_num_queries(2):
        result = item14_evidence_for_regions([region_a, region_b, city], 2025, CUTOFF)

    assert result[region_a.pk].missing_periods == []
    assert result[region_b.pk].schedule is None
    assert result[city.pk].missing_periods == ["2025-Q2", "2025-Q3"]
    assert item14_evidence(region_a.pk, 2025, CUTOFF) == result[region_a.pk]
