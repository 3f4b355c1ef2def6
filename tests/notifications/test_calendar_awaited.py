"""Nobody forgets next year's holiday schedule: from 1 November until it is entered, the city
office's dashboard shows a banner and its inbox gets one message a week."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from cases import services, workcalendar
from notifications.calendar_watch import remind_awaited_calendar
from notifications.models import CalendarReminder, Kind, Notification

BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")
MESSAGE = "2027 年节假日安排尚未录入，{n} 件在办问题的办理时限为暂定"


def at(*args):
    return dt.datetime(*args, tzinfo=BEIJING)


def enter_2027():
    workcalendar.enter_year(workcalendar.schedule_from_text(2027, "2027-01-01..2027-01-03 元旦", ""), source="test")


def banner(client):
    return client.get(reverse("home")).context["awaited"]


@pytest.fixture
def provisional_cases(make_case, county_a, dept_x):
    """Two open cases whose due dates reach into 2027 (one a complex case, 15 working days from
    14 December), and a closed one that no longer counts."""
    with time_machine.travel(at(2026, 12, 14, 16), tick=False):
        complex_case = services.assign(
            make_case(received_at=at(2026, 12, 14, 9)), by=county_a, department=dept_x, complex=True
        )
    with time_machine.travel(at(2026, 12, 28, 16), tick=False):
        late = make_case(received_at=at(2026, 12, 28, 9))
        closed = services.assign(make_case(received_at=at(2026, 12, 28, 9)), by=county_a, department=dept_x)
    type(closed).objects.filter(pk=closed.pk).update(state="resolved", closed_at=at(2026, 12, 28, 15))
    cases = [complex_case, late, closed]
    for case in cases:
        case.refresh_from_db()
        assert case.due_date_provisional and "2027.provisional" in case.calendar_version, case.calendar_version
    return cases


@pytest.mark.django_db
def test_banner_appears_on_the_first_of_november_for_the_city_office(client, city_user):
    with time_machine.travel(at(2026, 10, 31, 23, 30), tick=False):
        client.force_login(city_user)
        assert banner(client) is None
        assert "calendar-awaited" not in client.get(reverse("home")).content.decode()
    with time_machine.travel(at(2026, 11, 1, 0, 30), tick=False):  # 31 October 16:30 UTC
        client.force_login(city_user)
        page = client.get(reverse("home"))
        assert page.context["awaited"] == workcalendar.Awaited(2027, 0)
        html = page.content.decode()
        assert MESSAGE.format(n=0) in html
        assert reverse("cases:calendar_enter", args=[2027]) in html


@pytest.mark.django_db
def test_banner_counts_the_open_provisional_cases_and_disappears_once_the_year_is_entered(
    client, city_user, provisional_cases
):
    with time_machine.travel(at(2026, 12, 29, 9), tick=False):
        client.force_login(city_user)
        assert MESSAGE.format(n=2) in client.get(reverse("home")).content.decode()
        enter_2027()
        page = client.get(reverse("home"))
        assert page.context["awaited"] is None
        assert "calendar-awaited" not in page.content.decode()


@pytest.mark.django_db
def test_banner_is_for_the_city_office_only(client, county_a, dept_x_user):
    with time_machine.travel(at(2026, 11, 2, 9), tick=False):
        for user in (county_a, dept_x_user):
            client.force_login(user)
            page = client.get(reverse("home"))
            assert page.context["awaited"] is None and "calendar-awaited" not in page.content.decode()


@pytest.mark.django_db
def test_a_year_still_missing_in_january_is_awaited_too():
    with time_machine.travel(at(2027, 1, 4, 9), tick=False):
        assert workcalendar.awaited_year(dt.date(2027, 1, 4)) == 2027
    enter_2027()
    assert workcalendar.awaited_year(dt.date(2027, 1, 4)) is None
    assert workcalendar.awaited_year(dt.date(2027, 10, 31)) is None
    assert workcalendar.awaited_year(dt.date(2027, 11, 1)) == 2028


@pytest.mark.django_db
def test_weekly_message_once_per_iso_week_until_the_year_is_entered(city_user, county_a, provisional_cases):
    assert remind_awaited_calendar(at(2026, 10, 31, 9)) is None  # not yet November
    first = remind_awaited_calendar(at(2026, 12, 28, 8, 5))  # Monday of 2026-W53
    assert (first.year, first.week, first.provisional_open, first.recipients) == (2027, "2026-W53", 2, 1)
    note = Notification.objects.get(user=city_user, kind=Kind.CALENDAR_AWAITED)
    assert note.message == MESSAGE.format(n=2)
    # The same ISO week again, however often the timers look: nothing more.
    assert remind_awaited_calendar(at(2026, 12, 31, 8, 5)) is None
    assert remind_awaited_calendar(at(2027, 1, 3, 23, 0)) is None  # Sunday, still 2026-W53
    # The next week: one more.
    second = remind_awaited_calendar(at(2027, 1, 4, 8, 5))
    assert second.week == "2027-W01"
    assert Notification.objects.filter(user=city_user, kind=Kind.CALENDAR_AWAITED).count() == 2
    assert not Notification.objects.filter(user=county_a, kind=Kind.CALENDAR_AWAITED).exists()
    enter_2027()
    assert remind_awaited_calendar(at(2027, 1, 11, 8, 5)) is None
    assert CalendarReminder.objects.count() == 2


@pytest.mark.django_db
def test_the_first_of_november_gets_its_message_even_on_a_sunday(city_user):
    reminder = remind_awaited_calendar(at(2026, 11, 1, 8, 5))  # a Sunday: 2026-W44
    assert (reminder.week, reminder.provisional_open) == ("2026-W44", 0)
    assert remind_awaited_calendar(at(2026, 11, 2, 8, 5)).week == "2026-W45"


@pytest.mark.django_db
def test_run_timers_sends_the_weekly_message(city_user):
    with time_machine.travel(at(2026, 11, 3, 8, 5), tick=False):
        call_command("run_timers", "--once")
        call_command("run_timers", "--once")
    assert Notification.objects.filter(user=city_user, kind=Kind.CALENDAR_AWAITED).count() == 1


@pytest.mark.django_db
def test_beat_runs_the_reminder_daily(city_user):
    from notifications.tasks import remind_awaited_calendar as task

    entry = settings.CELERY_BEAT_SCHEDULE["calendar-awaited-reminder"]
    assert entry["task"] == task.name == "notifications.remind_awaited_calendar"
    with time_machine.travel(at(2026, 11, 3, 8, 5), tick=False):
        assert task.delay().get() is not None
        assert task.delay().get() is None
