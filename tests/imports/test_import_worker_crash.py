"""A real worker killed with SIGKILL in the middle of an import: the job page says so within the
window (heartbeat + IMPORT_JOB_DEAD_AFTER_SECONDS, shortened here), nothing of the attempt is
kept, and the retry imports the same stored file once on a fresh worker.

Run with: DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> REDIS_URL=redis://127.0.0.1:6379/<n> \
          .venv/bin/python -m pytest tests/imports/test_import_worker_crash.py
(The test starts its own redis-server on a free port, as tests/notifications/test_celery_integration.py does.)
"""

import signal
import time

import kombu.pools
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cases.models import Case, ImportJob
from config.celery import app
from tests.notifications.test_celery_integration import Celery, Redis, _wait

from .conftest import row

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROWS = 400  # the writing pass reports progress every 200 rows: killed after the first 200
DEAD_AFTER = 4
HEARTBEAT = 1


@pytest.fixture
def broker(tmp_path):
    server = Redis(tmp_path)
    server.start()
    saved = {"broker_url": app.conf.broker_url, "task_always_eager": app.conf.task_always_eager}
    app.conf.update(broker_url=server.url, task_always_eager=False)
    _reset_connections()
    yield server
    app.conf.update(**saved)
    _reset_connections()
    server.stop()


def _reset_connections():
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    kombu.pools.reset()


@pytest.fixture
def workers(broker, tmp_path, settings):
    email_dir = tmp_path / "mail"
    email_dir.mkdir()
    runner = Celery(broker, email_dir, tmp_path)
    yield runner
    runner.stop_all()


def import_worker(workers, name, media, **env):
    return workers._start(
        [
            "worker",
            "--pool",
            "solo",
            "--queues",
            "imports",
            "--loglevel",
            "INFO",
            "--hostname",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        name,
        MEDIA_ROOT=str(media),
        IMPORT_JOB_HEARTBEAT_SECONDS=str(HEARTBEAT),
        IMPORT_JOB_DEAD_AFTER_SECONDS=str(DEAD_AFTER),
        **env,
    )


def big_ledger(write_csv):
    return write_csv([row(编号=f"411502-2025-A{n:04d}", 企业名称=f"信阳示例{n}有限公司") for n in range(1, ROWS + 1)])


def test_a_worker_killed_mid_import_shows_the_job_interrupted_and_the_retry_imports_once(
    client, city_user, workers, write_csv, settings
):
    settings.IMPORT_JOB_DEAD_AFTER_SECONDS = DEAD_AFTER
    media = settings.MEDIA_ROOT
    client.force_login(city_user)
    path = big_ledger(write_csv)
    response = client.post("/import/", {"file": SimpleUploadedFile("台帐.csv", path.read_bytes())})
    assert response.status_code == 302
    job_url = response["Location"]
    job = ImportJob.objects.get()
    assert job.status == "queued"
    try:
        # The doomed worker writes row by row through the services (~20 rows/s), so it is still
        # writing when it is killed; the bulk path would finish 400 rows before the first poll.
        first = import_worker(workers, "doomed", media, IMPORT_WRITE_PATH="services")

        def writing():
            job.refresh_from_db()
            return job.status == "running" and job.phase == "writing"

        _wait(writing, 120, "the import never reached its writing pass")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed_at = time.monotonic()
        assert client.get(job_url + "status/").json()["status"] == "running"  # not yet: the window

        def reported_failed():
            return client.get(job_url + "status/").json()["status"] == "failed"

        _wait(reported_failed, DEAD_AFTER + HEARTBEAT + 10, "the dead job was never reported")
        assert time.monotonic() - killed_at <= DEAD_AFTER + HEARTBEAT + 10
        page = client.get(job_url).content.decode()
        assert "后台任务已中断" in page and f'action="{job_url}retry/"' in page
        assert Case.objects.count() == 0  # the attempt's transaction died with it

        import_worker(workers, "fresh", media)
        assert client.post(job_url + "retry/").status_code == 302

        def done():
            job.refresh_from_db()
            return job.status == "done"

        _wait(done, 300, "the retried import did not finish")
        assert job.attempt == 2 and job.summary["created"] == ROWS and not job.summary["errors"]
        assert Case.objects.count() == ROWS
        assert not list((media / "imports").iterdir())
    except AssertionError:
        print(workers.logs())
        raise
