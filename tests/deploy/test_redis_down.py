"""Redis is optional at runtime: with REDIS_URL pointing at a dead server, every page works.

The app runs here with its cache and its Celery broker both on redis://127.0.0.1:1/0, where
nothing listens. Every role walks its pages and the usual writes; the only 5xx is the
intentional 503 of an import (which needs the broker), whose upload must not stay behind.
/healthz says 503.
"""

import time

import kombu.pools
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cases import services
from cases.models import Case, ImportJob
from config.cache import _Outage, cache_settings
from config.celery import app
from notifications.models import Delivery

pytestmark = pytest.mark.django_db

DEAD = "redis://127.0.0.1:1/0"


def _reset_connections():
    """Drop the app's broker connection and producer pools (kombu keeps them per broker URL,
    process-wide) so the next publish reads broker_url anew."""
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    kombu.pools.reset()


@pytest.fixture
def dead_redis(settings, tmp_path):
    settings.REDIS_URL = DEAD
    settings.CACHES = cache_settings(DEAD)
    settings.MEDIA_ROOT = tmp_path / "media"
    saved = {"broker_url": app.conf.broker_url, "task_always_eager": app.conf.task_always_eager}
    app.conf.update(broker_url=DEAD, task_always_eager=False)
    _reset_connections()
    _Outage.clear()
    yield tmp_path / "media"
    app.conf.update(**saved)
    _reset_connections()
    _Outage.clear()


def assert_works(response, url):
    assert response.status_code < 500, f"{url} answered {response.status_code}"
    return response


def walk(client, user, urls):
    client.force_login(user)
    for url in urls:
        assert_works(client.get(url), url)


def test_the_cache_acts_as_an_empty_one_and_leaves_redis_alone_for_a_while(dead_redis):
    started = time.monotonic()
    assert cache.get("anything") is None and cache.get("anything", "fallback") == "fallback"
    cache.set("anything", 1)
    assert cache.get_many(["a", "b"]) == {} and cache.add("a", 1) is False
    with pytest.raises(ValueError):
        cache.incr("counter")
    assert _Outage.active()
    assert time.monotonic() - started < 3


def test_every_page_works_with_redis_down(
    client,
    dead_redis,
    make_case,
    county_a,
    city_user,
    assessor,
    dept_x,
    dept_x_user,
    region_a,
    django_capture_on_commit_callbacks,
):
    for user in (county_a, dept_x_user):
        user.email = f"{user.username}@example.gov.cn"
        user.save()
    case = services.assign(make_case(), by=county_a, department=dept_x)
    year = timezone.localdate().year
    county_pages = [
        "/",
        "/ledger/",
        "/ledger/?sort=received_at",
        f"/cases/{case.pk}/",
        "/cases/new/",
        "/ledger/export.csv",
        "/notices/",
        "/scoring/",
        f"/scoring/{year}/",
        f"/scoring/{year}/{region_a.code}/",
        "/notifications/",
        "/import/",
        "/api/v1/cases/",
    ]
    walk(client, county_a, county_pages)
    assert _Outage.active(), "the dashboard should have tried the cache and found Redis down"
    walk(client, dept_x_user, ["/", f"/cases/{case.pk}/", "/notifications/", "/api/v1/cases/"])
    walk(
        client,
        city_user,
        ["/", "/ledger/", f"/cases/{case.pk}/", "/notices/", "/scoring/", f"/scoring/{year}/", "/import/"],
    )
    walk(client, assessor, ["/", "/scoring/", f"/scoring/{year}/"])

    # Writes that do not need the broker still work: a transition, its emails left in the outbox.
    client.force_login(dept_x_user)
    acknowledged = client.post(f"/cases/{case.pk}/acknowledge/")
    assert acknowledged.status_code == 302
    case.refresh_from_db()
    assert case.acknowledged_at is not None
    # An extension request emails the county office: the publish fails fast, the email waits in
    # the outbox for the first sweep after Redis returns.
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        requested = client.post(
            f"/cases/{case.pk}/request-extension/", {"request_extension-days": 2, "request_extension-reason": "需协调"}
        )
    assert requested.status_code == 302 and time.monotonic() - started < 15
    assert Delivery.objects.filter(status="pending", address=county_a.email).exists()

    assert client.get("/healthz").status_code == 503


def test_an_import_is_refused_with_503_and_its_upload_removed(client, dead_redis, city_user):
    client.force_login(city_user)
    upload = SimpleUploadedFile("台帐.csv", "编号,县区代码\n".encode())
    started = time.monotonic()
    response = client.post("/import/", {"file": upload, "dry_run": "on"})
    assert time.monotonic() - started < 15
    assert response.status_code == 503 and response["Retry-After"]
    assert "后台任务服务暂不可用，请稍后再试" in response.content.decode()
    imports = dead_redis / "imports"
    assert not imports.exists() or list(imports.iterdir()) == []
    job = ImportJob.objects.get()
    assert job.status == "failed" and not job.interrupted  # on record, nothing to retry

    json_answer = client.post("/import/", {"file": SimpleUploadedFile("b.csv", b"x\n")}, HTTP_ACCEPT="application/json")
    assert json_answer.status_code == 503
    assert json_answer.json() == {"detail": "后台任务服务暂不可用，请稍后再试。"}
    assert list(imports.iterdir()) == []
    assert Case.objects.count() == 0


def test_a_confirmed_dry_run_refused_by_the_broker_keeps_its_file_for_later(client, dead_redis, city_user, examples):
    client.force_login(city_user)
    app.conf.task_always_eager = True  # the dry run ran while Redis was up
    checked = client.post(
        "/import/",
        {"file": SimpleUploadedFile("台帐.csv", (examples / "ledger-example.csv").read_bytes()), "dry_run": "on"},
    )
    app.conf.task_always_eager = False  # and Redis went down before the confirmation
    job_url = checked["Location"]
    refused = client.post(job_url + "confirm/")
    assert refused.status_code == 503
    assert len(list((dead_redis / "imports").iterdir())) == 1
    assert client.get(job_url).context["can_confirm"]  # may be confirmed again once Redis is back


@pytest.fixture
def examples():
    from tests.imports.conftest import EXAMPLES

    return EXAMPLES
