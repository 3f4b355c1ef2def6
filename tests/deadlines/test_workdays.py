"""Working-day arithmetic on the calendar in the database (SPEC §4)."""

import datetime as dt
import zoneinfo

import chinese_calendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases import workcalendar, workdays
from cases.errors import InvalidInput
from cases.models import CalendarDay, CalendarYear, Category

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def local(*args):
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        (local(2025, 9, 30, 10), 5, dt.date(2025, 10, 14)),  # National Day week
        (local(2025, 1, 24, 10), 5, dt.date(2025, 2, 7)),  # Spring Festival
        (local(2025, 10, 11, 7), 5, dt.date(2025, 10, 17)),  # received on a make-up Saturday
        (local(2025, 12, 31, 10), 5, dt.date(2026, 1, 8)),  # across New Year
    ],
)
def test_worked_examples_of_the_spec(received, days, due):
    result = workdays.due_date_for(received, days)
    assert result.date == due
    assert result.provisional is False


@pytest.mark.django_db
def test_receipt_day_is_the_local_date_not_utc():
    # 2025-09-29 23:30 UTC is already 2025-09-30 07:30 in Shanghai.
    received = dt.datetime(2025, 9, 29, 23, 30, tzinfo=dt.UTC)
    assert workdays.due_date_for(received, 5).date == dt.date(2025, 10, 14)


@pytest.mark.django_db
def test_calendar_is_seeded_for_every_day_2004_to_2026():
    assert CalendarYear.objects.count() == 23
    assert CalendarDay.objects.count() == sum(366 if y % 4 == 0 else 365 for y in range(2004, 2027))
    assert CalendarDay.objects.get(date=dt.date(2025, 10, 11)).kind == CalendarDay.Kind.MAKEUP
    assert CalendarDay.objects.get(date=dt.date(2025, 10, 1)).kind == CalendarDay.Kind.HOLIDAY


@pytest.mark.django_db
def test_due_date_records_the_calendar_version_used():
    due = workdays.add_working_days(dt.date(2025, 12, 26), 5)
    assert due.calendar_version == "2025.1+2026.1"


@pytest.mark.django_db
def test_a_year_without_calendar_skips_weekends_and_statutory_days_and_is_provisional():
    due = workdays.add_working_days(dt.date(2026, 12, 30), 5)
    # 2026-12-31 (Thu) is a working day in 2026; 2027 is not entered: 1 January is a statutory
    # holiday every year, so Mon 4, Tue 5, Wed 6, Thu 7.
    assert due.date == dt.date(2027, 1, 7)
    assert due.provisional is True
    assert due.calendar_version == "2026.1+2027.provisional-statutory-2025"


@pytest.fixture
def calendar_snapshot(db):
    """The calendar as seeded by the migration (a db test, so it runs before any transactional
    test's flush; the seed is re-loaded after each flush by tests/conftest.py)."""
    snapshot = workdays.current_calendar()
    assert snapshot.knows(2004) and snapshot.knows(2026)
    return snapshot


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.dates(min_value=dt.date(2004, 1, 1), max_value=dt.date(2026, 9, 1)),
    n=st.integers(min_value=1, max_value=40),
)
def test_add_working_days_agrees_with_chinesecalendar(calendar_snapshot, start, n):
    due = calendar_snapshot.add_working_days(start, n)
    # Reference: walk chinesecalendar day by day with is_workday (make-up Saturdays count).
    day, counted = start, 0
    while counted < n:
        day += dt.timedelta(days=1)
        if chinese_calendar.is_workday(day):
            counted += 1
    assert due.date == day
    assert chinese_calendar.is_workday(due.date)
    assert calendar_snapshot.working_days_between(start, due.date) == n


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(day=st.dates(min_value=dt.date(2004, 1, 1), max_value=dt.date(2026, 12, 31)))
def test_every_day_matches_chinesecalendar_is_workday(calendar_snapshot, day):
    assert calendar_snapshot.is_workday(day) == chinese_calendar.is_workday(day)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    day=st.dates(min_value=dt.date(2004, 3, 1), max_value=dt.date(2026, 12, 31)),
    k=st.integers(min_value=1, max_value=10),
)
def test_workday_back_is_the_inverse_bound_of_working_days_between(calendar_snapshot, day, k):
    bound = calendar_snapshot.workday_back(day, k)
    assert calendar_snapshot.is_workday(bound)
    assert calendar_snapshot.working_days_between(bound - dt.timedelta(days=1), day) >= k
    assert calendar_snapshot.working_days_between(bound, day) == k - 1


# -- entering a later year ------------------------------------------------------------------

SCHEDULE_2027 = """2027-01-01 元旦
2027-02-05..2027-02-11 春节
2027-10-01..2027-10-07 国庆节"""


def schedule_2027():
    schedule = workcalendar.YearSchedule(2027)
    for day, name in workcalendar.parse_named_dates(SCHEDULE_2027, field_name="holidays"):
        schedule.holidays[day] = name
    schedule.makeup_days = set(workcalendar.parse_dates("2027-02-13, 2027-09-26", field_name="makeup"))
    return schedule


@pytest.mark.django_db
def test_provisional_due_date_in_2027_is_recomputed_with_a_ledger_entry_when_the_year_is_entered(
    make_case, county_a, dept_x
):
    import time_machine

    from cases import services
    from ledger.models import LedgerEntry

    with time_machine.travel(local(2026, 12, 28, 12), tick=False):
        case = make_case(received_at=local(2026, 12, 28, 9))
        case = services.assign(case, by=county_a, department=dept_x)
    case.refresh_from_db()
    # 29, 30, 31 December, then 4 and 5 January: 1 January is a statutory holiday.
    assert case.due_date == dt.date(2027, 1, 5)
    assert case.due_date_provisional is True
    assert case.calendar_version == "2026.1+2027.provisional-statutory-2025"

    _year, changed = workcalendar.enter_year(schedule_2027(), by=county_a, source="admin", reference="国办发明电")
    assert changed == 1
    case.refresh_from_db()
    # The notice agrees on 1 January: the date stands, now final, with a ledger entry saying so.
    assert case.due_date == dt.date(2027, 1, 5)
    assert case.due_date_provisional is False
    assert case.calendar_version == "2026.1+2027.1"
    entry = LedgerEntry.objects.filter(case=case).order_by("-seq").first()
    assert entry.action == "recompute_due"
    assert entry.due_date == dt.date(2027, 1, 5)
    assert entry.payload["due_date_before"] == "2027-01-05"
    assert entry.payload["calendar_version_before"] == "2026.1+2027.provisional-statutory-2025"
    assert entry.actor == county_a


@pytest.mark.django_db
def test_recompute_command_catches_up_provisional_dates(make_case, county_a):
    import time_machine

    from cases import services

    with time_machine.travel(local(2026, 12, 28, 12), tick=False):
        case = make_case(received_at=local(2026, 12, 28, 9))
    # The year arrives some other way (rows loaded directly), then the catch-up runs.
    year = CalendarYear.objects.create(year=2027, version=1, source="test")
    CalendarDay.objects.bulk_create(
        [
            CalendarDay(date=r.date, calendar=year, is_workday=r.is_workday, kind=r.kind, name=r.name)
            for r in schedule_2027().rows()
        ]
    )
    assert services.recompute_provisional_due_dates() == 1
    case.refresh_from_db()
    assert (case.due_date, case.due_date_provisional) == (dt.date(2027, 1, 5), False)
    assert services.recompute_provisional_due_dates() == 0


def _dept(case):
    from cases.models import Department

    return Department.objects.get_or_create(name="浉河区工信局", region=case.region)[0]


@pytest.mark.django_db
def test_entered_year_moves_a_provisional_date_past_a_new_holiday():
    year_before = workdays.add_working_days(dt.date(2027, 2, 8), 1)
    # Provisionally 9 February (Tue) is a working day (the statutory days are 5–8 February);
    # the notice gives 9–11 February off as well.
    assert year_before.date == dt.date(2027, 2, 9) and year_before.provisional
    workcalendar.enter_year(schedule_2027(), source="admin")
    assert workdays.add_working_days(dt.date(2027, 2, 8), 1) == workdays.Due(dt.date(2027, 2, 12), False, "2027.1")
    # A make-up Saturday counts.
    assert workdays.add_working_days(dt.date(2027, 2, 12), 1).date == dt.date(2027, 2, 13)


@pytest.mark.django_db
def test_contradicting_calendar_row_is_refused_and_nothing_changes():
    workcalendar.enter_year(schedule_2027(), source="admin")
    other = schedule_2027()
    other.holidays.pop(dt.date(2027, 1, 1))  # now says New Year's Day is a working day
    with pytest.raises(InvalidInput) as refused:
        workcalendar.enter_year(other, source="admin")
    assert "2027-01-01" in refused.value.message
    assert CalendarYear.objects.get(year=2027).version == 1
    assert CalendarDay.objects.get(date=dt.date(2027, 1, 1)).is_workday is False


@pytest.mark.django_db
def test_same_year_entered_again_with_the_same_days_changes_nothing():
    workcalendar.enter_year(schedule_2027(), source="admin")
    _year, changed = workcalendar.enter_year(schedule_2027(), source="admin")
    assert changed == 0
    assert CalendarYear.objects.get(year=2027).version == 1


@pytest.mark.django_db
def test_explicit_revision_bumps_the_version():
    workcalendar.enter_year(schedule_2027(), source="admin")
    other = schedule_2027()
    other.holidays[dt.date(2027, 1, 4)] = "元旦"
    year, _changed = workcalendar.enter_year(other, source="admin", revise=True)
    assert year.version == 2
    assert workdays.add_working_days(dt.date(2026, 12, 31), 1).date == dt.date(2027, 1, 5)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("holidays", "makeup", "expected"),
    [
        ("2027-01-01", "2027-01-01", "2027-01-01"),  # both a holiday and a make-up day
        ("", "2027-01-05", "2027-01-05"),  # a weekday is no make-up day
        ("2026-12-31", "", "2026-12-31"),  # not in the year
    ],
)
def test_schedule_contradicting_itself_is_refused(holidays, makeup, expected):
    schedule = workcalendar.YearSchedule(2027)
    schedule.holidays = {d: "" for d in workcalendar.parse_dates(holidays, field_name="holidays")}
    schedule.makeup_days = set(workcalendar.parse_dates(makeup, field_name="makeup"))
    with pytest.raises(InvalidInput, match=expected):
        workcalendar.enter_year(schedule, source="admin")
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_bad_date_text_is_a_clear_error():
    with pytest.raises(InvalidInput, match="2027-13-01"):
        workcalendar.parse_dates("2027-13-01", field_name="holidays")


@pytest.mark.django_db
@pytest.mark.parametrize("days", [0, -3])
def test_deadline_policy_of_zero_or_negative_days_is_refused(days):
    from django.core.exceptions import ValidationError

    category = Category.objects.get(code="labour")
    category.deadline_days = days
    with pytest.raises(ValidationError) as refused:
        category.full_clean()
    assert "deadline_days" in refused.value.message_dict
    category.refresh_from_db()
    assert category.deadline_days == 5


@pytest.mark.django_db
def test_complex_deadline_shorter_than_ordinary_is_refused():
    from django.core.exceptions import ValidationError

    category = Category.objects.get(code="labour")
    category.complex_deadline_days = 3
    with pytest.raises(ValidationError) as refused:
        category.full_clean()
    assert "complex_deadline_days" in refused.value.message_dict


@pytest.mark.django_db
def test_policy_is_read_from_the_category(make_case, county_a, dept_x, category):
    from cases import services

    category.deadline_days, category.complex_deadline_days = 3, 20
    category.save()
    case = make_case(received_at=local(2025, 9, 30, 10))
    assert case.due_date == dt.date(2025, 10, 11)  # 9th, 10th and the make-up Saturday 11th
    case = services.assign(case, by=county_a, department=dept_x, complex=True)
    assert case.due_date == workdays.add_working_days(dt.date(2025, 9, 30), 20).date
