"""/healthz reports the database, Redis and the age of the last sweep."""

import datetime as dt

import pytest
from django.utils import timezone

from notifications.models import SweepRun


@pytest.mark.django_db
def test_healthz_without_redis_and_without_a_sweep(client, settings):
    settings.REDIS_URL = ""
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["redis"] == {"ok": True, "configured": False, "note": "embedded default: tasks run in-process"}
    assert body["last_sweep"]["finished_at"] is None and body["last_sweep"]["stale"] is True


@pytest.mark.django_db
def test_healthz_reports_the_age_of_the_last_sweep(client, settings):
    settings.REDIS_URL = ""
    now = timezone.now()
    SweepRun.objects.create(started_at=now - dt.timedelta(seconds=125), finished_at=now - dt.timedelta(seconds=120))
    sweep = client.get("/healthz").json()["last_sweep"]
    assert 119 <= sweep["age_seconds"] <= 130 and sweep["stale"] is False
    SweepRun.objects.all().delete()
    SweepRun.objects.create(started_at=now - dt.timedelta(hours=2), finished_at=now - dt.timedelta(hours=2))
    assert client.get("/healthz").json()["last_sweep"]["stale"] is True


@pytest.mark.django_db
def test_healthz_fails_when_redis_is_configured_but_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:6399/0"  # nothing listens there
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"]["ok"] is False


@pytest.mark.redis
@pytest.mark.django_db
def test_healthz_with_redis_up(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["redis"] == {"ok": True, "configured": True}


@pytest.mark.django_db
def test_healthz_is_exempt_from_the_ssl_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.REDIS_URL = ""
    assert client.get("/healthz").status_code == 200
    assert client.get("/login/").status_code == 301
