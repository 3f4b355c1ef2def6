"""The timer path with real services: a Celery worker subprocess, Celery beat, Redis, PostgreSQL.

Run with: DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/0 \
          .venv/bin/pytest tests/notifications/test_celery_integration.py

Each test starts its OWN redis-server on a free port (so stopping it never disturbs anyone
else), and worker/beat subprocesses pointed at the test database. Emails go to files
(tests/notifications/file_email_backend.py) so the test can count what the worker sent.
"""

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from cases import services
from notifications.models import Delivery, Notification, Reminder

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
CASES = 4
# Each case is received 40 days ago and never routed: overdue (county office), escalated (city
# office) and supervised (county office) are all due — 3 reminders, 3 messages, 3 emails a case.
EXPECTED = 3 * CASES


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Redis:
    def __init__(self, folder: Path):
        self.port, self.folder, self.process = _free_port(), folder, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--dir",
                str(self.folder),
                "--maxmemory-policy",
                "noeviction",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(
            lambda: (
                subprocess.run(
                    ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
                ).stdout.strip()
                == "PONG"
            ),
            10,
            "redis did not start",
        )

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def _wait(condition, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(message)


class Celery:
    """Worker and beat subprocesses, killed at the end of the test."""

    def __init__(self, redis: Redis, email_dir: Path, tmp: Path):
        self.redis, self.email_dir, self.tmp, self.processes = redis, email_dir, tmp, []
        db = connection.settings_dict
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        self.database_url = (
            f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items() if k not in ("CI",)}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis.url,
                "EMAIL_BACKEND": "tests.notifications.file_email_backend.EmailBackend",
                "TEST_EMAIL_DIR": str(self.email_dir),
                "SWEEP_INTERVAL_SECONDS": "2",
                "DELIVERY_STALE_SECONDS": "3",
                "DELIVERY_PENDING_GRACE_SECONDS": "1",
                "PYTHONPATH": str(ROOT),
            }
        )
        env.update(extra)
        return env

    def _start(self, args, name, **extra):
        log = open(self.tmp / f"{name}.log", "ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *args],
            cwd=ROOT,
            env=self.env(**extra),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def worker(self, name="worker", **extra):
        # The timers' worker of deploy/: the sweep and its deliveries must reach it by their routes.
        return self._start(
            [
                "worker",
                "--pool",
                "solo",
                "--queues",
                "timers",
                "--loglevel",
                "INFO",
                "--hostname",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            name,
            **extra,
        )

    def beat(self):
        return self._start(["beat", "--loglevel", "INFO", "--schedule", str(self.tmp / "beat-schedule")], "beat")

    def stop_all(self):
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait(10)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.tmp.glob("*.log")))


@pytest.fixture
def redis_server(tmp_path):
    server = Redis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def celery(redis_server, tmp_path):
    email_dir = tmp_path / "mail"
    email_dir.mkdir()
    runner = Celery(redis_server, email_dir, tmp_path)
    yield runner
    runner.stop_all()


def emails(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in folder.glob("*.json")]


def overdue_cases(make_case, county_a, city_user):
    county_a.email, city_user.email = "county@a.example", "city@example"
    county_a.save()
    city_user.save()
    received = timezone.now() - dt.timedelta(days=40)
    return [make_case(received_at=received) for _ in range(CASES)]


def assert_each_reminder_once(folder: Path, extra: int = 0):
    sent = emails(folder)
    keys = Counter((m["to"][0], m["subject"]) for m in sent)
    assert len(sent) == EXPECTED + extra, keys
    assert max(keys.values()) == 1, keys
    assert Reminder.objects.count() == EXPECTED
    assert Reminder.objects.filter(status="sent").count() == EXPECTED
    assert Notification.objects.filter(kind__in=["overdue", "escalated", "supervised"]).count() == EXPECTED


def test_beat_triggered_sweep_delivers_every_reminder_once(make_case, county_a, city_user, celery):
    overdue_cases(make_case, county_a, city_user)
    celery.worker()
    celery.beat()
    try:
        _wait(lambda: len(emails(celery.email_dir)) >= EXPECTED, 90, "reminders not delivered")
        time.sleep(6)  # beat keeps sweeping every 2 s: nothing more may arrive
        assert_each_reminder_once(celery.email_dir)
    except AssertionError:
        print(celery.logs())
        raise


def test_worker_killed_mid_send_and_restarted_loses_nothing_and_doubles_nothing(make_case, county_a, city_user, celery):
    overdue_cases(make_case, county_a, city_user)
    first = celery.worker(name="slow", TEST_EMAIL_DELAY="2")
    celery.beat()
    try:
        _wait(lambda: any(celery.email_dir.glob("sending-*")), 90, "the worker never started sending")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert len(emails(celery.email_dir)) < EXPECTED
        assert Delivery.objects.filter(status="sending").exists()  # cut off mid-send
        celery.worker(name="fresh")
        _wait(lambda: len(emails(celery.email_dir)) >= EXPECTED, 120, "reminders lost after the crash")
        time.sleep(8)
        assert_each_reminder_once(celery.email_dir)
        interrupted = Delivery.objects.filter(status="failed", error__startswith="interrupted")
        assert interrupted.exists()  # the cut-off attempt is on record, and was retried
    except AssertionError:
        print(celery.logs())
        raise


def test_redis_down_during_intake_then_back_every_reminder_arrives_once(
    make_case, county_a, city_user, dept_x, dept_x_user, celery, redis_server
):
    from config.celery import app

    saved = {"broker_url": app.conf.broker_url, "task_always_eager": app.conf.task_always_eager}
    app.conf.update(broker_url=redis_server.url, task_always_eager=False)
    _reset_connections(app)
    redis_server.stop()
    try:
        started = time.monotonic()
        overdue_cases(make_case, county_a, city_user)
        fresh = services.assign(make_case(), by=county_a, department=dept_x)
        services.request_extension(fresh, by=dept_x_user, reason="需协调", days=2)  # emails the county office
        services.acknowledge(fresh, by=dept_x_user)
        elapsed = time.monotonic() - started
        assert elapsed < 30, f"intake took {elapsed:.1f}s with Redis down"
        assert Delivery.objects.filter(status="pending").count() == 1  # waiting for the broker

        redis_server.start()
        celery.worker()
        celery.beat()
        _wait(lambda: len(emails(celery.email_dir)) >= EXPECTED + 1, 90, "reminders not delivered after restart")
        time.sleep(6)
        assert_each_reminder_once(celery.email_dir, extra=1)
        assert not Delivery.objects.exclude(status="sent").exists()
    except AssertionError:
        print(celery.logs())
        raise
    finally:
        app.conf.update(**saved)
        _reset_connections(app)


def _reset_connections(app):
    """Drop the app's broker connection and producer pools so the next publish reads broker_url anew."""
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
