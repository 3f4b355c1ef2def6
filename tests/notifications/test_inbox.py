"""The in-app inbox: list, unread count in the header, mark read; each user sees only theirs."""

import pytest
from django.urls import reverse

from notifications.models import Notification


@pytest.fixture
def notes(county_a, county_b, assigned_case):
    mine = [
        Notification.objects.create(user=county_a, kind="overdue", case=assigned_case, message=f"逾期 {n}")
        for n in range(3)
    ]
    other = Notification.objects.create(user=county_b, kind="overdue", message="别人的消息")
    return mine, other


@pytest.mark.django_db
def test_inbox_lists_my_notifications_only(client, county_a, notes):
    client.force_login(county_a)
    page = client.get(reverse("notifications:inbox"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "逾期 0" in html and "别人的消息" not in html
    assert notes[0][0].case.number in html


@pytest.mark.django_db
def test_header_shows_the_unread_count(client, county_a, notes):
    client.force_login(county_a)
    html = client.get(reverse("notifications:inbox")).content.decode()
    assert 'class="badge-unread"' in html and ">3</span>" in html


@pytest.mark.django_db
def test_mark_read_and_mark_all_read(client, county_a, notes):
    client.force_login(county_a)
    first = notes[0][0]
    assert client.post(reverse("notifications:mark_read", args=[first.pk])).status_code == 302
    first.refresh_from_db()
    assert first.read_at is not None
    unread = client.get(reverse("notifications:inbox") + "?unread=1").content.decode()
    assert "逾期 0" not in unread and "逾期 1" in unread
    client.post(reverse("notifications:mark_all_read"))
    assert not Notification.objects.filter(user=county_a, read_at=None).exists()
    assert Notification.objects.get(pk=notes[1].pk).read_at is None  # the other user's stays unread


@pytest.mark.django_db
def test_someone_elses_notification_is_404(client, county_a, notes):
    client.force_login(county_a)
    assert client.post(reverse("notifications:mark_read", args=[notes[1].pk])).status_code == 404
    assert client.get(reverse("notifications:mark_read", args=[notes[0][0].pk])).status_code == 405


@pytest.mark.django_db
def test_inbox_needs_login(client):
    assert client.get(reverse("notifications:inbox")).status_code == 302


@pytest.mark.django_db
def test_inbox_query_budget(client, county_a, notes, django_assert_max_num_queries):
    client.force_login(county_a)
    # session, user, profile (role), unread count, page count, page rows with their cases,
    # plus what the base template's other context processors read.
    with django_assert_max_num_queries(10):
        client.get(reverse("notifications:inbox"))
