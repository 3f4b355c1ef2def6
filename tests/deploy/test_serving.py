"""Serving under load: persistent connections, the statement timeout, sessions in Redis, a cheap
/healthz, and gunicorn's bounded queue (503 with Retry-After, never a reset; the probe's own lane)."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import OperationalError, connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from config.gunicorn_worker import QueueState, busy_response
from config.middleware import BusyOnStatementTimeoutMiddleware
from tests.deploy.test_production_settings import production_env

ROOT = Path(__file__).resolve().parents[2]


def settings_in_subprocess(code: str, **env) -> str:
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); from django.conf import settings; {code}"],
        cwd=ROOT,
        env=production_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_postgresql_connections_persist_and_carry_the_statement_timeout():
    out = settings_in_subprocess(
        "d = settings.DATABASES['default']; print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'], d['OPTIONS']['options'])",
        DATABASE_STATEMENT_TIMEOUT_SECONDS="2.5",
    )
    assert out == "60 True -c jit=off -c statement_timeout=2500"
    without = settings_in_subprocess("print(settings.DATABASES['default']['OPTIONS']['options'])")
    assert without == "-c jit=off"  # workers and manage.py: no limit unless given one


def test_sessions_are_cached_in_redis_when_there_is_redis():
    assert settings_in_subprocess("print(settings.SESSION_ENGINE)") == "django.contrib.sessions.backends.cached_db"
    assert (
        settings_in_subprocess("print(settings.SESSION_ENGINE)", REDIS_URL="") == "django.contrib.sessions.backends.db"
    )


def test_gunicorn_conf_bounded_worker_and_statement_timeout_for_the_web():
    code = (
        "import os, runpy, multiprocessing; c = runpy.run_path('deploy/gunicorn.conf.py'); "
        "print(c['workers'] == multiprocessing.cpu_count() + 1, c['threads'], c['worker_class'], "
        "os.environ['DATABASE_STATEMENT_TIMEOUT_SECONDS'])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "DATABASE_STATEMENT"))}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "2", "config.gunicorn_worker.BoundedQueueThreadWorker", "30"]


def test_each_worker_warms_up_freezes_what_it_loaded_and_collects_young_objects_less_often():
    import gc
    import runpy

    from cases.search import segment

    conf = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    before = gc.get_threshold()
    try:
        conf["post_worker_init"](worker=None)
        assert gc.get_freeze_count() > 10_000  # the loaded modules, out of every later collection
        assert gc.get_threshold() == (10_000, 20, 100)
        assert segment._tokenizer is not None  # jieba's dictionary, before the first case page
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_warm_up_compiles_every_page_template():
    from django.template import engines

    from config.warmup import project_templates, warm_up

    names = project_templates()
    assert {"base.html", "cases/ledger.html", "cases/detail.html", "registration/login.html"} <= set(names)
    compiled = warm_up()
    assert compiled >= len(names) - 10  # a few fragments only make sense inside their parent
    loader = engines["django"].engine.template_loaders[0]  # the cached loader (DEBUG off)
    assert {"cases/ledger.html", "django_tables2/table.html"} <= set(loader.get_template_cache)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_runaway_query_is_cancelled_on_a_connection_made_from_the_settings(settings):
    """The real thing: a process started with the web's setting opens its connection with the timeout."""
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{connection.settings_dict['NAME']}"
    code = (
        "from django.db import connection, OperationalError\n"
        "cursor = connection.cursor(); cursor.execute('SHOW statement_timeout'); print(cursor.fetchone()[0])\n"
        "try:\n    cursor.execute('SELECT pg_sleep(5)')\nexcept OperationalError as error:\n"
        "    print(type(error.__cause__).__name__)\n"
    )
    out = settings_in_subprocess(f"exec({code!r})", DATABASE_URL=url, DATABASE_STATEMENT_TIMEOUT_SECONDS="0.5")
    assert out.split() == ["500ms", "QueryCanceled"]


def _cancelled_query_error() -> OperationalError:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 20")
            cursor.execute("SELECT pg_sleep(1)")
    except OperationalError as error:
        return error
    raise AssertionError("pg_sleep(1) was not cancelled after 20 ms")


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_cancelled_query_answers_503_busy_not_500():
    error = _cancelled_query_error()
    middleware = BusyOnStatementTimeoutMiddleware(lambda request: None)
    page = middleware.process_exception(RequestFactory().get("/ledger/"), error)
    assert page.status_code == 503 and page["Retry-After"] == "5"
    assert "系统繁忙" in page.content.decode()
    api = middleware.process_exception(RequestFactory().get("/api/v1/cases/"), error)
    assert api.status_code == 503 and "系统繁忙" in json.loads(api.content)["detail"]
    # Any other database error stays an error (500), not "busy".
    assert middleware.process_exception(RequestFactory().get("/ledger/"), OperationalError("gone")) is None


@pytest.mark.django_db
def test_healthz_reads_one_row_and_writes_nothing(client, settings):
    settings.REDIS_URL = ""
    client.get("/healthz")
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert len(captured.captured_queries) == 1
    assert captured.captured_queries[0]["sql"].lstrip().upper().startswith("SELECT")


def test_the_queue_bound_counts_waiting_requests_and_their_wait():
    queue = QueueState(max_queue=2, max_wait=0.05)
    assert queue.admit() and queue.admit()
    assert not queue.admit()  # a third waiting request is refused at once
    assert queue.last_reason == "queue full (2 waiting)"
    assert queue.started(time.monotonic()) is True  # taken by a thread: a place frees up
    assert queue.admit()
    assert queue.started(time.monotonic() - 1) is False  # waited a second: answered busy
    assert queue.last_reason.startswith("waited 1.0 s")
    assert queue.shed == 2 and queue.waiting == 1


def test_the_busy_answer_is_a_page_or_json_with_retry_after():
    status, headers, body = busy_response("/ledger/")
    assert status.startswith("503") and ("Retry-After", "5") in headers and "系统繁忙".encode() in body
    status, headers, body = busy_response("/api/v1/cases/")
    assert ("Content-Type", "application/json") in headers and body.startswith(b'{"detail"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connections_spread_evenly_over_the_processes():
    """Each client keeps its connection to the process that accepted it; without the accept delay
    one of three processes took 27 of 48 connections (and its queue with them)."""
    port = _free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--worker-class",
            "config.gunicorn_worker.BoundedQueueThreadWorker",
        ]
        + ["--workers", "3", "--threads", "2", "--bind", f"127.0.0.1:{port}", "--keep-alive", "30"]
        + ["tests.deploy.slow_wsgi:application"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    held = []
    try:
        pids: dict[bytes, int] = {}
        for _ in range(300):  # all three processes up (each answers /pid)
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                probe.request("GET", "/pid")
                pids[probe.getresponse().read()] = 0
                probe.close()
            except OSError:
                pass
            if len(pids) == 3:
                break
            time.sleep(0.05)
        for _ in range(30):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/pid")
            pid = conn.getresponse().read()
            pids[pid] = pids.get(pid, 0) + 1
            held.append(conn)  # kept open, as a browser or the load test's user keeps it
            time.sleep(0.02)
        counts = sorted(pids.values())
        assert len(counts) == 3 and counts[0] >= 6 and counts[-1] <= 14, counts
    finally:
        for conn in held:
            conn.close()
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def bounded_gunicorn(tmp_path):
    port = _free_port()
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 - closed after the server stops
    env = {**os.environ, "GUNICORN_MAX_QUEUE": "1", "GUNICORN_MAX_QUEUE_SECONDS": "30"}
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--worker-class",
            "config.gunicorn_worker.BoundedQueueThreadWorker",
            "--workers",
            "1",
            "--threads",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--keep-alive",
            "30",
            "tests.deploy.slow_wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port, tmp_path / "gunicorn.log"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _get(port: int, path: str, results: list, timeout: float = 20):
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        results.append(
            (path, response.status, response.getheader("Retry-After"), response.read(), time.monotonic() - started)
        )
        # The connection stays usable after the answer, a 503 included: no reset.
        conn.request("GET", "/healthz")
        second = conn.getresponse()
        second.read()
        results.append(("again", second.status, None, b"", 0.0))
    except OSError as error:  # a reset would land here
        results.append((path, type(error).__name__, None, b"", time.monotonic() - started))
    finally:
        conn.close()


def test_gunicorn_sheds_past_the_queue_with_503_and_serves_the_probe_at_once(bounded_gunicorn):
    """One thread, a queue of one: of four slow requests, one runs, one waits, two get 503."""
    port, log = bounded_gunicorn
    results: list = []
    threads = [threading.Thread(target=_get, args=(port, "/slow?1.5", results)) for _ in range(4)]
    threads[0].start()
    time.sleep(0.5)  # the first has been taken by the only thread (generous on a loaded machine)
    for thread in threads[1:]:
        thread.start()
        time.sleep(0.05)
    probe: list = []
    _get(port, "/healthz", probe, timeout=5)  # while the only thread sleeps
    for thread in threads:
        thread.join(30)
    slow = [r for r in results if r[0] == "/slow?1.5"]
    assert sorted(r[1] for r in slow) == [200, 200, 503, 503], slow
    busy = [r for r in slow if r[1] == 503]
    assert all(r[2] == "5" and "系统繁忙".encode() in r[3] and r[4] < 1.0 for r in busy)  # at once, not after waiting
    assert [r[1] for r in results if r[0] == "again"] == [200] * 4  # every connection still open
    assert probe[0][1] == 200 and probe[0][4] < 1.0  # the probe did not wait behind /slow
    # The error log says which bound shed each: here the queue's length, not the wait.
    shed = [line for line in log.read_text().splitlines() if "busy 503" in line]
    assert len(shed) == 2 and all("GET /slow: queue full (1 waiting)" in line for line in shed), shed


@pytest.mark.django_db
def test_the_unread_badge_is_counted_once_per_page_not_once_per_template(client, county_a, make_case):
    """The 台帐 renders its table as a second template with the request (django-tables2): the
    context processors run twice, the unread count must not."""
    from notifications.models import Kind, Notification

    make_case()
    Notification.objects.create(user=county_a, kind=Kind.OVERDUE, message="m")
    client.force_login(county_a)
    client.get("/ledger/")
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/ledger/")
    assert response.status_code == 200
    counts = [q for q in captured.captured_queries if '"notifications_notification"' in q["sql"]]
    assert len(counts) == 1, [q["sql"] for q in counts]
    assert b"badge-unread" in response.content  # and the badge still shows the one unread


def _celery_queues_and_options(text: str) -> dict[str, tuple[int, int]]:
    """{queues: (concurrency, nice)} of the Celery workers a unit file or a script starts."""
    found = {}
    for line in text.splitlines():
        if "celery" not in line or " worker " not in line:
            continue
        queues = re.search(r"--queues[= ](\S+)", line).group(1)
        concurrency = int(re.search(r"(?:--concurrency[= ]|-c )(\d+)", line).group(1))
        nice = re.search(r"nice -n (\d+)", line)
        found[queues] = (concurrency, int(nice.group(1)) if nice else None)
    return found


def test_the_load_test_runs_celery_as_deploy_does():
    """run_load.sh measures what deploy/ runs: the same workers, concurrency and priority."""
    units = {}
    for name in ("caseledger-timers.service", "caseledger-worker@.service"):
        text = (ROOT / "deploy" / "systemd" / name).read_text()
        nice = int(re.search(r"^Nice=(\d+)$", text, re.MULTILINE).group(1))
        units.update({queues: (c, nice) for queues, (c, _n) in _celery_queues_and_options(text).items()})
    script = _celery_queues_and_options((ROOT / "tests" / "benchmarks" / "run_load.sh").read_text())
    assert units == script == {"timers": (2, 10), "imports,default": (4, 10)}
    compose = (ROOT / "deploy" / "compose.yaml").read_text()
    assert compose.count("cpu_shares: 256") == 2  # the same two below the web's weight


def test_a_failing_warm_up_is_skipped_not_fatal(monkeypatch):
    """An exception in post_worker_init stops gunicorn altogether ("Worker failed to boot"), on
    every max_requests restart: the warm-up may only be skipped."""
    import gc
    import runpy

    from config import warmup

    def broken():
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "a template that is not UTF-8")

    monkeypatch.setattr(warmup, "warm_up", broken)
    logged = []

    class Log:
        def exception(self, message, *args):
            logged.append(message)

    class Worker:
        log = Log()

    settings = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    threshold = gc.get_threshold()
    try:
        settings["post_worker_init"](Worker())
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
    assert logged == ["warm-up skipped"]
