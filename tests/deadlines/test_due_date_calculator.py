"""The deadline calculator: GET /api/v1/calendar/due-date/?received=YYYY-MM-DD&days=N (SPEC §8), across
the 2026–2027 New Year and the 2027 Spring Festival, before and after 2027 is entered."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from cases import workcalendar

URL = "/api/v1/calendar/due-date/"
NOW = dt.datetime(2026, 11, 20, 10, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
# A plausible 2027 notice: New Year's Day Friday to Sunday; Spring Festival 5–13 February with
# the Sunday before and the Saturday after worked.
NOTICE_2027 = (
    "2027-01-01..2027-01-03 元旦\n2027-02-05..2027-02-13 春节\n2027-04-03..2027-04-05 清明节\n"
    "2027-05-01..2027-05-05 劳动节\n2027-06-09 端午节\n2027-09-15..2027-09-17 中秋节\n2027-10-01..2027-10-07 国庆节"
)
MAKEUP_2027 = "2027-01-31\n2027-02-20\n2027-04-25\n2027-09-19\n2027-10-09"


@pytest.fixture
def api(dept_x_user):
    client = APIClient()
    client.force_authenticate(dept_x_user)  # any signed-in user may ask
    with time_machine.travel(NOW, tick=False):
        yield client


def ask(api, received, days):
    return api.get(URL, {"received": received, "days": days})


def enter_2027():
    workcalendar.enter_year(workcalendar.schedule_from_text(2027, NOTICE_2027, MAKEUP_2027), source="test")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("received", "days", "before", "after"),
    [
        # 29–31 December, then 1 January is a statutory holiday: 4 and 5 January.
        ("2026-12-28", 5, "2027-01-05", "2027-01-05"),
        ("2026-12-31", 1, "2027-01-04", "2027-01-04"),
        # Wed 3 February: Thu 4; 5–8 February (除夕–初三) are statutory; 9–12. The notice adds
        # 9–13 February off and makes Sunday 31 January a working day.
        ("2027-02-03", 5, "2027-02-12", "2027-02-18"),
        ("2027-01-29", 2, "2027-02-02", "2027-02-01"),  # Fri 29 Jan: the make-up Sunday 31 Jan counts
        ("2027-02-04", 1, "2027-02-09", "2027-02-15"),
        ("2027-02-12", 1, "2027-02-15", "2027-02-15"),
    ],
)
def test_calculator_before_and_after_2027_is_entered(api, received, days, before, after):
    answer = ask(api, received, days)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["due_date"] == before and body["provisional"] is True
    assert body["calendar_version"].endswith("2027.provisional-statutory-2025")
    enter_2027()
    body = ask(api, received, days).json()
    assert body["due_date"] == after and body["provisional"] is False
    assert body["calendar_version"] in ("2027.1", "2026.1+2027.1")


@pytest.mark.django_db
def test_calculator_on_a_known_year_matches_the_spec_example(api):
    assert ask(api, "2025-09-30", 5).json() == {
        "due_date": "2025-10-14",
        "provisional": False,
        "calendar_version": "2025.1",
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ({"days": 5}, "received", "受理"),
        ({"received": "2026-13-01", "days": 5}, "received", "YYYY-MM-DD"),
        ({"received": "2026/12/28", "days": 5}, "received", "YYYY-MM-DD"),
        ({"received": "1999-12-31", "days": 5}, "received", "2000-01-01"),
        ({"received": "2028-01-01", "days": 5}, "received", "2027-12-31"),  # after the end of next year
        ({"received": "2026-12-28"}, "days", "工作日"),
        ({"received": "2026-12-28", "days": 0}, "days", "1"),
        ({"received": "2026-12-28", "days": 61}, "days", "60"),
        ({"received": "2026-12-28", "days": "五"}, "days", "整数"),
        ({"received": "2026-12-28", "days": "9" * 40}, "days", "60"),
        ({"received": "2026-12-28", "days": "2.5"}, "days", "整数"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_in_chinese(api, query, field, words):
    answer = api.get(URL, query)
    assert answer.status_code == 400
    messages = answer.json()[field]
    assert any(words in message for message in messages), messages
    assert any("\u4e00" <= ch <= "\u9fff" for ch in messages[0]), messages  # read in Chinese


@pytest.mark.django_db
def test_calculator_needs_a_signed_in_user():
    answer = APIClient().get(URL, {"received": "2026-12-28", "days": 5})
    assert answer.status_code == 401


@pytest.mark.django_db
def test_calculator_is_in_the_openapi_schema(client, city_user):
    client.force_login(city_user)
    schema = client.get(reverse("schema"), HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/calendar/due-date/"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"received", "days"}
    assert set(operation["responses"]) >= {"200", "400", "401"}
