"""The city office enters next year's notice in the app: the difference from the provisional
calendar is shown first; saving recomputes the open cases' due dates with ledger entries and tells
each affected department. ``enter_calendar_year`` does the same from the command line."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from cases import services
from cases.models import CalendarYear, Case
from ledger.models import LedgerEntry
from notifications.models import Kind, Notification

BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")
D = dt.date
HOLIDAYS = "2027-01-01..2027-01-03 元旦\n2027-02-05..2027-02-13 春节\n2027-10-01..2027-10-07 国庆节"
MAKEUP = "2027-01-31\n2027-02-20"
FULL_NOTICE = (
    HOLIDAYS + "\n2027-04-03..2027-04-05 清明节\n2027-05-01..2027-05-05 劳动节\n2027-06-09 端午节\n2027-09-15 中秋节"
)


def at(*args):
    return dt.datetime(*args, tzinfo=BEIJING)


@pytest.fixture
def spring_cases(make_case, county_a, dept_x, dept_z, county_b, region_b):
    """Open cases counted provisionally on 2027, and one closed, made on 28 December 2026."""
    with time_machine.travel(at(2026, 12, 28, 16), tick=False):
        # 5 working days from 28 Dec: 29, 30, 31 Dec, 4, 5 Jan — the notice agrees (1–3 Jan off).
        new_year = services.assign(make_case(received_at=at(2026, 12, 28, 9)), by=county_a, department=dept_x)
        # Complex (15 working days) from 28 Dec: provisionally 19 Jan; the make-up Sunday 31 Jan is
        # after it, so it stays.
        long = services.assign(make_case(received_at=at(2026, 12, 28, 9)), by=county_a, department=dept_x, complex=True)
        # County B's case, unassigned: its county office hears about it.
        unassigned = make_case(received_at=at(2026, 12, 28, 10), by=county_b, region=region_b)
        closed = services.assign(make_case(received_at=at(2026, 12, 28, 9)), by=county_a, department=dept_x)
        Case.objects.filter(pk=closed.pk).update(state="resolved", closed_at=at(2026, 12, 28, 15))
    return {"new_year": new_year, "long": long, "unassigned": unassigned, "closed": closed}


@pytest.fixture
def spring_festival_case(make_case, county_a, dept_z, county_b, region_b):
    """Received Wed 3 Feb 2027 by county B, routed to department Z: provisionally 12 Feb, after the notice 18 Feb."""
    with time_machine.travel(at(2027, 2, 3, 16), tick=False):
        return services.assign(
            make_case(received_at=at(2027, 2, 3, 9), by=county_b, region=region_b), by=county_b, department=dept_z
        )


def form(**fields):
    return {"reference": "国办发明电〔2026〕12号", "holidays": HOLIDAYS, "makeup_days": MAKEUP, **fields}


@pytest.mark.django_db
def test_preview_shows_the_difference_from_the_provisional_calendar_and_writes_nothing(
    client, city_user, spring_festival_case
):
    with time_machine.travel(at(2027, 2, 3, 17), tick=False):
        client.force_login(city_user)
        page = client.post(reverse("cases:calendar_enter", args=[2027]), form(preview="1"))
    assert page.status_code == 200
    html = page.content.decode()
    # Days the notice adds (9–12 Feb, weekdays the law leaves working) and the make-up days.
    for day in ("2027-02-09", "2027-02-12", "2027-01-31", "2027-02-20", "2027-10-04"):
        assert day in html, day
    assert "2027-02-08" not in html.split('id="preview"')[1].split("</table>")[0]  # 初三: off either way
    # The case that would move, with both dates.
    assert spring_festival_case.number in html and "2027-02-12" in html and "2027-02-18" in html
    assert 'name="confirm"' in html and 'name="fingerprint"' in html
    assert not CalendarYear.objects.filter(year=2027).exists()
    spring_festival_case.refresh_from_db()
    assert spring_festival_case.due_date == D(2027, 2, 12) and spring_festival_case.due_date_provisional


@pytest.mark.django_db
def test_saving_recomputes_open_cases_with_ledger_entries_and_tells_each_department(
    client,
    city_user,
    spring_cases,
    spring_festival_case,
    dept_x_user,
    dept_z_user,
    county_b,
    county_a,
    django_capture_on_commit_callbacks,
):
    url = reverse("cases:calendar_enter", args=[2027])
    with time_machine.travel(at(2027, 2, 3, 17), tick=False):
        client.force_login(city_user)
        preview = client.post(url, form(preview="1"))
        fingerprint = preview.context["plan"].fingerprint()
        with django_capture_on_commit_callbacks(execute=True):
            saved = client.post(url, form(confirm="1", fingerprint=fingerprint))
    assert saved.status_code == 302 and saved.url == reverse("cases:calendar")
    year = CalendarYear.objects.get(year=2027)
    assert (year.version, year.source, year.reference, year.entered_by) == (
        1,
        "app",
        "国办发明电〔2026〕12号",
        city_user,
    )

    moved = Case.objects.get(pk=spring_festival_case.pk)
    assert (moved.due_date, moved.due_date_provisional, moved.calendar_version) == (D(2027, 2, 18), False, "2027.1")
    entry = LedgerEntry.objects.filter(case=moved).order_by("-seq").first()
    assert entry.action == "recompute_due" and entry.actor == city_user
    assert (entry.payload["due_date_before"], entry.payload["due_date"]) == ("2027-02-12", "2027-02-18")

    stayed = Case.objects.get(pk=spring_cases["new_year"].pk)
    assert (stayed.due_date, stayed.due_date_provisional, stayed.calendar_version) == (
        D(2027, 1, 5),
        False,
        "2026.1+2027.1",
    )
    assert LedgerEntry.objects.filter(case=stayed, action="recompute_due").count() == 1
    # Closed cases keep the date they were closed against.
    closed = Case.objects.get(pk=spring_cases["closed"].pk)
    assert closed.due_date_provisional and not LedgerEntry.objects.filter(case=closed, action="recompute_due").exists()

    # Department Z hears its case moved; department X that its two keep their dates; county B
    # (the unassigned case's office) hears too; county A has nothing unassigned.
    z_note = Notification.objects.get(user=dept_z_user, kind=Kind.DUE_RECOMPUTED)
    assert spring_festival_case.number in z_note.message and "2027-02-12 → 2027-02-18" in z_note.message
    assert z_note.case_id == spring_festival_case.pk
    assert "2027 年节假日安排已录入" in z_note.message
    x_note = Notification.objects.get(user=dept_x_user, kind=Kind.DUE_RECOMPUTED)
    assert "2 件" in x_note.message and "办理时限均未改变" in x_note.message
    assert Notification.objects.filter(user=county_b, kind=Kind.DUE_RECOMPUTED).count() == 1
    assert not Notification.objects.filter(user=county_a, kind=Kind.DUE_RECOMPUTED).exists()


@pytest.mark.django_db
def test_a_confirmation_of_other_dates_than_previewed_shows_the_preview_again(client, city_user, spring_festival_case):
    url = reverse("cases:calendar_enter", args=[2027])
    with time_machine.travel(at(2027, 2, 3, 17), tick=False):
        client.force_login(city_user)
        fingerprint = client.post(url, form(preview="1")).context["plan"].fingerprint()
        page = client.post(url, form(confirm="1", fingerprint=fingerprint, makeup_days="2027-01-31"))
    assert page.status_code == 200 and page.context["plan"] is not None
    assert not CalendarYear.objects.filter(year=2027).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"holidays": "2027-02-30 春节"}, "2027-02-30"),
        ({"holidays": "2028-01-01 元旦"}, "2028-01-01"),  # not in the year being entered
        ({"makeup_days": "2027-02-09"}, "2027-02-09"),  # a weekday is no make-up day
        ({"reference": ""}, "reference"),
    ],
)
def test_bad_dates_are_a_form_error_and_nothing_is_saved(client, city_user, fields, message):
    with time_machine.travel(at(2026, 11, 20, 9), tick=False):
        client.force_login(city_user)
        page = client.post(reverse("cases:calendar_enter", args=[2027]), form(confirm="1", **fields))
    assert page.status_code == 400
    html = page.content.decode()
    assert message in html or page.context["form"].errors.get(message)
    assert not CalendarYear.objects.filter(year=2027).exists()


@pytest.mark.django_db
def test_a_statutory_day_made_a_working_day_is_flagged_in_the_preview(client, city_user):
    with time_machine.travel(at(2026, 11, 20, 9), tick=False):
        client.force_login(city_user)
        page = client.post(
            reverse("cases:calendar_enter", args=[2027]),
            form(preview="1", holidays=FULL_NOTICE.replace("2027-02-05..", "2027-02-06..")),
        )
    assert page.status_code == 200
    assert [row["date"] for row in page.context["day_changes"] if row["statutory_now_workday"]] == [D(2027, 2, 5)]
    assert "contradicts-law" in page.content.decode()


@pytest.mark.django_db
def test_only_the_city_office_enters_a_year(client, county_a, dept_x_user, assessor):
    url = reverse("cases:calendar_enter", args=[2027])
    with time_machine.travel(at(2026, 11, 20, 9), tick=False):
        for user in (county_a, dept_x_user, assessor):
            client.force_login(user)
            assert client.get(url).status_code == 403
            assert client.post(url, form(confirm="1")).status_code == 403
    assert not CalendarYear.objects.filter(year=2027).exists()


@pytest.mark.django_db
def test_years_outside_last_this_and_next_are_not_entered_here(client, city_user):
    with time_machine.travel(at(2026, 11, 20, 9), tick=False):
        client.force_login(city_user)
        assert client.get(reverse("cases:calendar_enter", args=[2027])).status_code == 200
        assert client.get(reverse("cases:calendar_enter", args=[2028])).status_code == 404
        assert client.get(reverse("cases:calendar_enter", args=[2024])).status_code == 404


@pytest.mark.django_db
def test_an_entered_year_is_revised_only_when_asked(client, city_user):
    url = reverse("cases:calendar_enter", args=[2026])
    with time_machine.travel(at(2026, 11, 20, 9), tick=False):
        client.force_login(city_user)
        page = client.get(url)
        assert "2026-02-15..2026-02-23" in page.content.decode()  # the stored schedule, as ranges
        refused = client.post(url, form(preview="1", holidays="2026-01-01 元旦", makeup_days=""))
        assert refused.status_code == 400 and "2026-02-16" in refused.content.decode()
        preview = client.post(url, form(preview="1", holidays="2026-01-01 元旦", makeup_days="", revise="on"))
        assert preview.status_code == 200
    assert CalendarYear.objects.get(year=2026).version == 1


@pytest.mark.django_db
def test_calendar_page_lists_the_years_with_the_provisional_rule(client, city_user, dept_x_user):
    with time_machine.travel(at(2026, 11, 20, 9), tick=False):
        client.force_login(city_user)
        html = client.get(reverse("cases:calendar")).content.decode()
        assert (
            "statutory-2025" in html and "2027-02-05" in html and reverse("cases:calendar_enter", args=[2027]) in html
        )
        client.force_login(dept_x_user)
        html = client.get(reverse("cases:calendar")).content.decode()
        assert "2027-02-05" in html and reverse("cases:calendar_enter", args=[2027]) not in html


# -- the command ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_command_dry_run_shows_the_difference_and_writes_nothing(spring_festival_case, capsys):
    call_command(
        "enter_calendar_year", "2027", "--holidays", *HOLIDAYS.splitlines(), "--makeup", *MAKEUP.split(), "--dry-run"
    )
    out = capsys.readouterr().out
    assert "days differ from the provisional calendar (statutory-2025)" in out
    assert "2027-02-09" in out and f"{spring_festival_case.number}: 2027-02-12 -> 2027-02-18" in out
    assert "nothing written" in out
    assert not CalendarYear.objects.filter(year=2027).exists()


@pytest.mark.django_db
def test_command_enters_the_year_recomputes_and_tells_the_department(
    spring_festival_case, dept_z_user, capsys, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "enter_calendar_year",
            "2027",
            "--holidays",
            *HOLIDAYS.splitlines(),
            "--makeup",
            *MAKEUP.split(),
            "--reference",
            "国办发明电〔2026〕12号",
        )
    assert "calendar 2027 version 1: 1 due dates recomputed" in capsys.readouterr().out
    spring_festival_case.refresh_from_db()
    assert (spring_festival_case.due_date, spring_festival_case.due_date_provisional) == (D(2027, 2, 18), False)
    assert LedgerEntry.objects.filter(case=spring_festival_case, action="recompute_due").count() == 1
    assert Notification.objects.filter(user=dept_z_user, kind=Kind.DUE_RECOMPUTED).count() == 1
