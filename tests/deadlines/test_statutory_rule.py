"""The provisional calendar of a year nobody has entered: weekends and the statutory holidays the
law fixes in advance (cases/statutory.py), versioned by the law in force."""

import datetime as dt

import chinese_calendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lunar_python import Solar

from cases import services, statutory, workcalendar, workdays
from cases.models import CalendarDay, CalendarYear

D = dt.date


def test_each_rule_agrees_with_the_official_schedules_of_the_years_it_governed():
    # chinesecalendar holds the official schedules 2004–2026: every statutory day of the rule in
    # force is a day off there (a statutory day is never a make-up working day).
    for year in range(2004, 2027):
        rule = statutory.rule_for(year)
        working = [day for day in rule.holidays(year) if chinese_calendar.is_workday(day)]
        assert working == [], (year, rule.label, working)


def test_a_rule_applied_outside_its_years_is_caught_by_the_official_schedules():
    # The comparison above can fail: 除夕 became a statutory day in 2008, left in 2014, came back in 2025.
    by_label = {rule.label: rule for rule in statutory.RULES}
    worked = lambda rule, year: [d for d in by_label[rule].holidays(year) if chinese_calendar.is_workday(d)]  # noqa: E731
    assert worked("statutory-2025", 2024) == [D(2024, 2, 9)]
    assert worked("statutory-2008", 2014) == [D(2014, 1, 30)]
    assert worked("statutory-2025", 2018) == [D(2018, 5, 2)]  # 劳动节 was one day


@pytest.mark.parametrize(
    ("year", "label"),
    [
        (2007, "statutory-2000"),
        (2013, "statutory-2008"),
        (2024, "statutory-2014"),
        (2025, "statutory-2025"),
        (2027, "statutory-2025"),
        (2099, "statutory-2025"),
    ],
)
def test_the_rule_in_force_is_the_latest_that_took_effect(year, label):
    assert statutory.rule_for(year).label == label
    assert statutory.rule_for(1999) is None


def test_statutory_days_of_2025_and_2026_are_official_holidays():
    for year in (2025, 2026):
        days = statutory.holidays(year)
        assert len(days) == 13  # 元旦 1, 春节 4, 清明 1, 劳动节 2, 端午 1, 中秋 1, 国庆 3
        assert all(chinese_calendar.is_holiday(day) for day in days), year


def test_statutory_days_of_2027():
    assert sorted(statutory.holidays(2027)) == [
        D(2027, 1, 1),
        D(2027, 2, 5),
        D(2027, 2, 6),
        D(2027, 2, 7),
        D(2027, 2, 8),  # 除夕 and 正月初一–初三
        D(2027, 4, 5),  # 清明
        D(2027, 5, 1),
        D(2027, 5, 2),
        D(2027, 6, 9),  # 端午
        D(2027, 9, 15),  # 中秋
        D(2027, 10, 1),
        D(2027, 10, 2),
        D(2027, 10, 3),
    ]


def test_mid_autumn_on_national_day_is_one_day_off_not_two():
    # 2028: 中秋 (八月十五) is 3 October, already a National Day holiday.
    days = statutory.holidays(2028)
    assert D(2028, 10, 3) in days and len(days) == 12
    assert D(2028, 1, 25) in days and D(2028, 1, 26) in days  # 除夕 and 初一 in January


@pytest.mark.parametrize("year", range(2025, 2041))
def test_new_years_eve_is_the_last_day_of_the_twelfth_lunar_month(year):
    new_year = min(d for d, name in statutory.holidays(year).items() if name == statutory.SPRING_FESTIVAL)
    eve = Solar.fromYmd(new_year.year, new_year.month, new_year.day).getLunar()
    assert eve.getMonth() == 12 and eve.getDay() in (29, 30)
    first = new_year + dt.timedelta(days=1)
    lunar_first = Solar.fromYmd(first.year, first.month, first.day).getLunar()
    assert (lunar_first.getMonth(), lunar_first.getDay()) == (1, 1)


# -- the provisional calendar -----------------------------------------------------------------


def reference_is_workday(day: dt.date) -> bool:
    """Independent of cases.workdays: weekdays that are not statutory holidays."""
    return day.weekday() < 5 and day not in statutory.holidays(day.year)


@pytest.fixture
def provisional_calendar(db):
    calendar = workdays.current_calendar()
    assert calendar.knows(2026) and not calendar.knows(2027) and not calendar.knows(2028)
    return calendar


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.dates(min_value=D(2027, 1, 1), max_value=D(2028, 11, 30)), n=st.integers(min_value=1, max_value=40))
def test_provisional_due_date_never_lands_on_a_weekend_or_statutory_day(provisional_calendar, start, n):
    due = provisional_calendar.add_working_days(start, n)
    assert due.date.weekday() < 5
    assert due.date not in statutory.holidays(due.date.year)
    # Exactly n working days lie in (start, due], counted independently.
    days = [start + dt.timedelta(days=i) for i in range(1, (due.date - start).days + 1)]
    assert sum(reference_is_workday(d) for d in days) == n
    assert due.provisional is True
    assert due.calendar_version == "+".join(f"{y}.provisional-statutory-2025" for y in sorted({d.year for d in days}))


@pytest.mark.django_db
def test_across_the_2026_new_year_january_first_is_skipped_before_2027_is_entered():
    due = workdays.add_working_days(D(2026, 12, 28), 5)
    assert (due.date, due.provisional) == (D(2027, 1, 5), True)
    assert due.calendar_version == "2026.1+2027.provisional-statutory-2025"


@pytest.mark.django_db
def test_the_2027_spring_festival_is_skipped_before_2027_is_entered():
    # Wed 3 Feb; Thu 4 counts, Fri 5 (除夕) to Mon 8 (初三) are off, then 9–12.
    assert workdays.add_working_days(D(2027, 2, 3), 5).date == D(2027, 2, 12)


# -- a change of the law is one new entry -----------------------------------------------------


def amend_the_law_from_2027(monkeypatch) -> statutory.StatutoryRule:
    """A hypothetical amendment taking effect in 2027: 元旦 four days (1–4 January)."""
    rule = statutory.StatutoryRule(
        "statutory-2027",
        2027,
        "test",
        spring_festival=(-1, 0, 1, 2),
        labour_days=2,
        qingming=True,
        dragon_boat=True,
        mid_autumn=True,
        new_year_days=4,
    )
    monkeypatch.setattr(statutory, "RULES", (*statutory.RULES, rule))
    monkeypatch.setitem(statutory._BY_LABEL, rule.label, rule)
    return rule


@pytest.mark.django_db
def test_a_new_rule_entry_governs_its_years_and_the_catch_up_recounts_open_cases(
    monkeypatch, make_case, county_a, dept_x
):
    import time_machine

    from ledger.models import LedgerEntry

    with time_machine.travel(dt.datetime(2026, 12, 31, 9, tzinfo=dt.UTC), tick=False):
        case = services.assign(
            make_case(received_at=dt.datetime(2026, 12, 31, 1, tzinfo=dt.UTC)), by=county_a, department=dept_x
        )
    # Under the 2025 law: 4–8 January.
    assert (case.due_date, case.calendar_version) == (D(2027, 1, 8), "2027.provisional-statutory-2025")

    amend_the_law_from_2027(monkeypatch)
    assert workdays.provisional_label(2027) == "2027.provisional-statutory-2027"
    assert workdays.add_working_days(D(2026, 12, 31), 5).date == D(2027, 1, 11)
    assert services.recompute_provisional_due_dates() == 1
    case.refresh_from_db()
    assert (case.due_date, case.calendar_version, case.due_date_provisional) == (
        D(2027, 1, 11),
        "2027.provisional-statutory-2027",
        True,
    )
    entry = LedgerEntry.objects.filter(case=case, action="recompute_due").get()
    assert entry.payload["due_date_before"] == "2027-01-08"
    assert services.recompute_provisional_due_dates() == 0


@pytest.mark.django_db
def test_a_date_counted_before_the_statutory_rule_is_recounted_on_weekends_only(make_case):
    """Labels written before this rule existed (``2027.provisional``) were weekends only; entering
    the year recounts them on that, not on the statutory rule."""
    import time_machine

    with time_machine.travel(dt.datetime(2026, 12, 28, 4, tzinfo=dt.UTC), tick=False):
        case = make_case(received_at=dt.datetime(2026, 12, 28, 1, tzinfo=dt.UTC))
    # As the old code stored it: 29, 30, 31 December, 1 and 4 January.
    type(case).objects.filter(pk=case.pk).update(due_date=D(2027, 1, 4), calendar_version="2026.1+2027.provisional")
    schedule = workcalendar.schedule_from_text(2027, "2027-01-01..2027-01-03 元旦", "")
    _year, changed = workcalendar.enter_year(schedule, source="test")
    assert changed == 1
    case.refresh_from_db()
    assert (case.due_date, case.due_date_provisional, case.calendar_version) == (D(2027, 1, 5), False, "2026.1+2027.1")


@pytest.mark.django_db
def test_entered_year_replaces_the_provisional_rule_for_that_year():
    schedule = workcalendar.schedule_from_text(2027, "2027-02-05..2027-02-13 春节", "2027-02-20")
    workcalendar.enter_year(schedule, source="test")
    calendar = workdays.current_calendar()
    assert calendar.is_workday(D(2027, 1, 1))  # the notice entered left New Year's Day out: it counts as entered
    assert calendar.is_workday(D(2027, 2, 20)) and not calendar.is_workday(D(2027, 2, 12))
    assert CalendarDay.objects.filter(calendar=CalendarYear.objects.get(year=2027)).count() == 365
