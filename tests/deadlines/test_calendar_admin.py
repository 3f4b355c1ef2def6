"""Entering a later year's calendar in the admin."""

import datetime as dt

import pytest
from django.urls import reverse

from cases.models import CalendarDay, CalendarYear

ADD = "admin:cases_calendaryear_add"
INLINE = {"days-TOTAL_FORMS": "0", "days-INITIAL_FORMS": "0", "days-MIN_NUM_FORMS": "0", "days-MAX_NUM_FORMS": "1000"}


def form(**fields):
    data = {"year": "2027", "reference": "国办发明电〔2026〕", "holidays": "", "makeup_days": "", **INLINE}
    data.update(fields)
    return data


@pytest.mark.django_db
def test_city_office_enters_2027_in_the_admin(client, city_user):
    client.force_login(city_user)
    response = client.post(
        reverse(ADD), form(holidays="2027-01-01 元旦\n2027-10-01..2027-10-07 国庆节", makeup_days="2027-09-26")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    year = CalendarYear.objects.get(year=2027)
    assert year.version == 1 and year.entered_by == city_user
    assert CalendarDay.objects.filter(calendar=year).count() == 365
    assert CalendarDay.objects.get(date=dt.date(2027, 10, 5)).kind == "holiday"
    assert CalendarDay.objects.get(date=dt.date(2027, 9, 26)).is_workday is True
    # The change page shows the schedule back as it was entered.
    page = client.get(reverse("admin:cases_calendaryear_change", args=[year.pk]))
    assert "2027-10-01..2027-10-07 国庆节" in page.content.decode()


@pytest.mark.django_db
def test_contradiction_in_the_form_is_shown_and_nothing_is_saved(client, city_user):
    client.force_login(city_user)
    response = client.post(reverse(ADD), form(holidays="2027-01-02", makeup_days="2027-01-02"))
    assert response.status_code == 200
    assert "2027-01-02" in response.content.decode()
    assert not CalendarYear.objects.filter(year=2027).exists()


@pytest.mark.django_db
def test_editing_a_year_against_its_stored_days_needs_revise(client, city_user):
    client.force_login(city_user)
    year = CalendarYear.objects.get(year=2025)
    url = reverse("admin:cases_calendaryear_change", args=[year.pk])
    response = client.post(url, form(year="2025", holidays="2025-01-01"))
    assert response.status_code == 200
    assert "2025-01-28" in response.content.decode()  # named among the contradicted days
    assert CalendarYear.objects.get(year=2025).version == 1


@pytest.mark.django_db
def test_county_office_can_read_but_not_enter_a_year(client, county_a):
    client.force_login(county_a)
    assert client.get(reverse("admin:cases_calendaryear_changelist")).status_code == 200
    assert client.post(reverse(ADD), form(holidays="2027-01-01")).status_code == 403
    assert not CalendarYear.objects.filter(year=2027).exists()
