"""Import jobs that cannot starve the timers and cannot die silently: their own queue, a time
limit, a heartbeat, "interrupted" within two minutes of the last one, and a retry on the same file."""

import datetime as dt
import threading
import time

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cases import tasks
from cases.import_jobs import (
    create_job,
    file_path,
    interrupted_message,
    is_interrupted,
    reopen_for_retry,
    view_of,
)
from cases.models import Case, ImportJob
from config.celery import app

pytestmark = pytest.mark.django_db


def stored_job(user, examples, *, dry_run=False, **fields) -> ImportJob:
    upload = SimpleUploadedFile("台帐.csv", (examples / "ledger-example.csv").read_bytes())
    job = create_job(upload, user=user, dry_run=dry_run, now=timezone.now())
    ImportJob.objects.filter(pk=job.pk).update(**fields)
    job.refresh_from_db()
    return job


def crashed_job(user, examples, *, silent_for: int, **fields) -> ImportJob:
    """A job a worker took and stopped beating for ``silent_for`` seconds (killed mid-import)."""
    now = timezone.now()
    beat = now - dt.timedelta(seconds=silent_for)
    values = {
        "status": "running",
        "phase": "writing",
        "percent": 38,
        "processed": 12,
        "started_at": beat - dt.timedelta(seconds=30),
        "heartbeat_at": beat,
    }
    return stored_job(user, examples, **{**values, **fields})


# -- "dead" is a plain function of now and the heartbeat -------------------------------------


def test_a_running_job_is_interrupted_once_its_heartbeat_is_older_than_the_limit(county_a, examples):
    job = crashed_job(county_a, examples, silent_for=0)
    beat = job.heartbeat_at
    limit = settings.IMPORT_JOB_DEAD_AFTER_SECONDS
    assert not is_interrupted(job, beat + dt.timedelta(seconds=limit))
    assert is_interrupted(job, beat + dt.timedelta(seconds=limit + 1))
    # Shown as failed within two minutes of the worker's death, with heartbeats this frequent.
    assert settings.IMPORT_JOB_HEARTBEAT_SECONDS + limit < 120


def test_queued_and_finished_jobs_are_never_interrupted(county_a, examples):
    long_ago = timezone.now() + dt.timedelta(days=2)
    assert not is_interrupted(stored_job(county_a, examples), long_ago)  # waiting for a worker
    assert not is_interrupted(stored_job(county_a, examples, status="done"), long_ago)
    assert not is_interrupted(stored_job(county_a, examples, status="failed"), long_ago)


def test_a_running_job_without_any_heartbeat_counts_from_its_start(county_a, examples):
    job = crashed_job(county_a, examples, silent_for=0, heartbeat_at=None)
    assert not is_interrupted(job, job.started_at + dt.timedelta(seconds=60))
    assert is_interrupted(job, job.started_at + dt.timedelta(seconds=settings.IMPORT_JOB_DEAD_AFTER_SECONDS + 1))


# -- the job page --------------------------------------------------------------------------------


def test_the_job_page_reports_a_job_with_a_stale_heartbeat_as_interrupted_with_a_retry(client, county_a, examples):
    job = crashed_job(county_a, examples, silent_for=settings.IMPORT_JOB_DEAD_AFTER_SECONDS + 5)
    client.force_login(county_a)
    page = client.get(f"/import/{job.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "后台任务已中断" in html and 'id="import-progress"' not in html
    assert f'action="/import/{job.pk}/retry/"' in html
    status = client.get(f"/import/{job.pk}/status/").json()
    assert status["status"] == "failed" and status["can_retry"] is True
    assert "后台任务已中断" in status["error"]


def test_a_job_with_a_fresh_heartbeat_is_still_shown_running(client, county_a, examples):
    job = crashed_job(county_a, examples, silent_for=10)
    client.force_login(county_a)
    html = client.get(f"/import/{job.pk}/").content.decode()
    assert 'id="import-progress"' in html and "后台任务已中断" not in html and "/retry/" not in html
    assert client.get(f"/import/{job.pk}/status/").json() == {
        "status": "running",
        "phase": "writing",
        "processed": 12,
        "percent": 38,
        "error": "",
        "can_retry": False,
    }


def test_retry_runs_the_same_stored_file_again_as_the_next_attempt(client, city_user, examples):
    job = crashed_job(city_user, examples, silent_for=200)
    stored = file_path(job)
    client.force_login(city_user)
    response = client.post(f"/import/{job.pk}/retry/")
    assert response.status_code == 302 and response["Location"] == f"/import/{job.pk}/"
    job.refresh_from_db()
    assert (job.status, job.attempt, job.interrupted) == ("done", 2, False)
    assert job.summary["created"] == 30 and Case.objects.count() == 30
    assert not stored.exists()  # a real run's file goes once it is done
    page = client.get(f"/import/{job.pk}/")
    assert "后台任务已中断" not in page.content.decode() and page.context["view"].status == "done"


def test_retry_is_refused_for_a_live_job_a_finished_one_and_another_users(client, county_a, county_b, examples):
    live = crashed_job(county_a, examples, silent_for=5)
    done = stored_job(county_a, examples, status="done", summary={"created": 0, "errors": []})
    client.force_login(county_a)
    for job in (live, done):
        assert client.post(f"/import/{job.pk}/retry/").status_code == 302
        job.refresh_from_db()
        assert job.attempt == 1
    dead = crashed_job(county_a, examples, silent_for=500)
    client.force_login(county_b)
    assert client.post(f"/import/{dead.pk}/retry/").status_code == 404
    dead.refresh_from_db()
    assert dead.attempt == 1 and Case.objects.count() == 0


def test_retry_is_not_offered_once_the_stored_file_has_gone(county_a, examples):
    job = crashed_job(county_a, examples, silent_for=500)
    file_path(job).unlink()
    view = view_of(job, timezone.now())
    assert view.status == "failed" and view.interrupted and not view.can_retry
    assert reopen_for_retry(job, timezone.now()) is None


def test_two_retries_of_one_interrupted_attempt_queue_it_once(county_a, examples):
    job = crashed_job(county_a, examples, silent_for=500)
    now = timezone.now()
    first, second = reopen_for_retry(job, now), reopen_for_retry(job, now)
    assert first is not None and first.attempt == 2 and first.status == "queued"
    assert second is None


# -- the worker's side: each attempt runs at most once -------------------------------------------


def test_the_crashed_attempts_message_delivered_again_marks_the_job_failed_and_does_not_run_it(county_a, examples):
    job = crashed_job(county_a, examples, silent_for=500)
    tasks.run_import_job.apply(args=(job.pk, 1))
    job.refresh_from_db()
    assert job.status == "failed" and job.interrupted and job.error == interrupted_message()
    assert Case.objects.count() == 0 and file_path(job).exists()
    assert view_of(job, timezone.now()).can_retry


def test_an_old_attempts_message_does_nothing_after_a_retry(city_user, examples):
    job = crashed_job(city_user, examples, silent_for=500)
    retried = reopen_for_retry(job, timezone.now())
    tasks.run_import_job.apply(args=(job.pk, 1))  # the first attempt's message, redelivered
    retried.refresh_from_db()
    assert (retried.status, retried.attempt) == ("queued", 2) and Case.objects.count() == 0
    tasks.run_import_job.apply(args=(job.pk, 2))
    retried.refresh_from_db()
    assert retried.status == "done" and Case.objects.count() == 30


def test_a_running_job_writes_its_heartbeat(county_a, examples):
    job = stored_job(county_a, examples, dry_run=True)
    before = timezone.now()
    tasks.run_import_job.apply(args=(job.pk, 1))
    job.refresh_from_db()
    assert job.status == "done" and job.started_at >= before and job.heartbeat_at >= job.started_at
    assert job.finished_at is not None and job.percent == 100


def heartbeat_loop(job, monkeypatch, *, stop_after: float):
    """Heartbeat._run — the loop the worker's heartbeat thread runs — here, for ``stop_after`` s;
    returns what each beat wrote. (The test's database connection must stay open.)"""
    beats = []
    original = tasks.beat
    monkeypatch.setattr(tasks, "beat", lambda *args, **kwargs: beats.append(kwargs) or original(*args, **kwargs))
    monkeypatch.setattr(tasks.connections, "close_all", lambda: None)
    heartbeat = tasks.Heartbeat(job.pk, job.attempt, threaded=True)
    heartbeat.progress("writing", 7, 0.5)
    stopper = threading.Timer(stop_after, heartbeat.stop.set)
    stopper.start()
    try:
        heartbeat._run()
    finally:
        stopper.cancel()
    return beats


def test_the_heartbeat_loop_writes_progress_and_heartbeat_every_interval(county_a, examples, settings, monkeypatch):
    settings.IMPORT_JOB_HEARTBEAT_SECONDS = 1
    job = stored_job(county_a, examples, status="running", heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    beats = heartbeat_loop(job, monkeypatch, stop_after=2.5)
    assert len(beats) == 2 and beats[-1] == {"phase": "writing", "processed": 7, "percent": 65}
    job.refresh_from_db()
    assert (job.phase, job.processed, job.percent) == ("writing", 7, 65)
    assert timezone.now() - job.heartbeat_at < dt.timedelta(seconds=3)
    assert not is_interrupted(job, timezone.now())


def test_the_heartbeat_of_an_attempt_that_was_retried_stops(county_a, examples, settings, monkeypatch):
    settings.IMPORT_JOB_HEARTBEAT_SECONDS = 1
    job = crashed_job(county_a, examples, silent_for=500)
    reopen_for_retry(job, timezone.now())  # job.attempt is still 1 here: the old attempt's loop
    started = time.monotonic()
    beats = heartbeat_loop(job, monkeypatch, stop_after=10)
    assert len(beats) == 1 and time.monotonic() - started < 5
    job.refresh_from_db()
    assert (job.status, job.attempt, job.heartbeat_at) == ("queued", 2, None)


def test_an_import_stopped_at_its_soft_time_limit_fails_with_a_message_and_leaves_nothing(
    county_a, examples, monkeypatch
):
    job = stored_job(county_a, examples)

    def overrun(*args, **kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(tasks, "run_import", overrun)
    tasks.run_import_job.apply(args=(job.pk, 1))
    job.refresh_from_db()
    assert job.status == "failed" and "时间限制" in job.error and not job.interrupted
    assert not file_path(job).exists() and Case.objects.count() == 0


# -- queues, limits, acknowledgements --------------------------------------------------------------


def queue_of(task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


def test_the_sweep_and_notice_jobs_go_to_the_timers_queue_and_imports_elsewhere():
    app.loader.import_default_modules()
    assert queue_of("notifications.sweep_deadlines") == "timers"
    assert queue_of("notifications.send_delivery") == "timers"
    assert queue_of("notices.draft_due_notices") == "timers"
    assert queue_of("notices.sync_failed_deliveries") == "timers"
    assert queue_of("cases.run_import_job") == "imports"
    assert queue_of("scoring.tasks.freeze_after_cutoff") == "default"
    assert queue_of("scoring.tasks.judge_ledgers") == "default"
    # The nightly full re-hash and checkpoint is long: it runs beside the imports, not the timers.
    assert queue_of("notifications.ledger_checkpoint") == "default"
    # So is computing a county's notice figures (seconds at a million cases).
    assert queue_of("notices.refresh_draft_figures") == "default"
    long_timer_jobs = ("notifications.ledger_checkpoint", "notices.refresh_draft_figures")
    # Every other beat entry of the timers reaches the timers' worker; nothing long is routed there.
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        if entry["task"].startswith(("notifications.", "notices.")) and not entry["task"].startswith(long_timer_jobs):
            assert queue_of(entry["task"]) == "timers"
    long_jobs = [name for name in app.tasks if name.startswith(("cases.", "scoring.", "ledger."))]
    assert long_jobs and all(queue_of(name) != "timers" for name in long_jobs)
    # A worker started without --queues serves every queue: nothing is stranded on an old setup.
    assert {queue.name for queue in app.conf.task_queues} == {"timers", "imports", "default"}


def test_imports_have_a_hard_time_limit_and_the_visibility_timeout_outlasts_every_job():
    task = tasks.run_import_job
    assert task.soft_time_limit == settings.IMPORT_TIME_LIMIT_SECONDS
    assert task.time_limit > task.soft_time_limit
    assert task.acks_late and not task.reject_on_worker_lost
    assert app.conf.task_time_limit > app.conf.task_soft_time_limit
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert visibility > max(task.time_limit, app.conf.task_time_limit)
    assert app.conf.task_acks_late and app.conf.worker_prefetch_multiplier == 1
