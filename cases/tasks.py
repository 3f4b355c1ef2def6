"""Celery tasks of the cases app: the ledger import started from the upload page, daily housekeeping.

The task runs on the "imports" queue (settings.CELERY_TASK_ROUTES), never on the timers' worker.
While it works a heartbeat thread writes the job's progress and ``heartbeat_at`` every
IMPORT_JOB_HEARTBEAT_SECONDS on its own database connection, outside the import's transaction,
so the page sees it live and notices when it stops. A hard time limit ends an import that runs
past IMPORT_TIME_LIMIT_SECONDS (a soft one first lets it roll back and say so).
"""

from __future__ import annotations

import logging
import threading
import time

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import CaseError
from .housekeeping import run_daily
from .import_jobs import Status, beat, claim, file_path, finish, mark_interrupted
from .importing import run_import
from .models import ImportJob

logger = logging.getLogger(__name__)

# Validation reads quickly; the writing pass is where the time goes.
VALIDATE_SHARE = 30


class BrokerUnavailable(Exception):
    """The job could not be handed to the broker (Redis down): it is not queued."""


def enqueue(job: ImportJob) -> None:
    """Hand the job's current attempt to a worker; in-process on the embedded default (no broker),
    where the task's own errors propagate. Raises BrokerUnavailable when the broker refuses it."""
    if run_import_job.app.conf.task_always_eager:
        run_import_job.apply_async((job.pk, job.attempt))
        return
    try:
        run_import_job.apply_async((job.pk, job.attempt))
    except Exception as error:  # noqa: BLE001 - any publish failure means "not queued"
        logger.warning("could not queue import job %s: %r", job.pk, error)
        raise BrokerUnavailable from error


class Heartbeat:
    """Progress of one attempt, and (on a worker) the thread that writes it with the heartbeat."""

    def __init__(self, job_id: str, attempt: int, *, threaded: bool):
        self.job_id, self.attempt, self.threaded = job_id, attempt, threaded
        self.state = {"phase": "validating", "processed": 0, "percent": 0}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"import-heartbeat-{job_id}", daemon=True)
        self.last_write = 0.0

    def __enter__(self):
        if self.threaded:
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        if self.threaded:
            self.thread.join(timeout=30)

    def progress(self, phase: str, done: int, fraction: float | None) -> None:
        share = fraction or 0.0
        percent = (
            int(share * VALIDATE_SHARE)
            if phase == "validating"
            else VALIDATE_SHARE + int(share * (100 - VALIDATE_SHARE))
        )
        with self.lock:
            self.state = {"phase": phase, "processed": done, "percent": min(percent, 99)}
        if not self.threaded:
            # In-process run (the request itself waits for it): write now and then, nobody polls.
            now = time.monotonic()
            if now - self.last_write >= 0.5 or fraction == 1.0:
                self.last_write = now
                beat(self.job_id, self.attempt, timezone.now(), **self.state)

    def _run(self) -> None:
        interval = max(1, settings.IMPORT_JOB_HEARTBEAT_SECONDS)
        try:
            while not self.stop.wait(interval):
                with self.lock:
                    state = dict(self.state)
                try:
                    if not beat(self.job_id, self.attempt, timezone.now(), **state):
                        return  # retried, or finished meanwhile: this attempt is no longer the job's
                except Exception:  # noqa: BLE001 - a missed beat is retried at the next tick
                    logger.warning("import job %s: heartbeat not written", self.job_id, exc_info=True)
        finally:
            connections.close_all()  # this thread's own connection


@shared_task(
    name="cases.run_import_job",
    bind=True,
    acks_late=True,
    ignore_result=True,
    # A worker lost mid-import (killed, out of memory) must not have the file handed to the next
    # worker automatically — a file that kills workers would kill them all. The page shows the
    # job as interrupted and the user retries it.
    reject_on_worker_lost=False,
    soft_time_limit=settings.IMPORT_TIME_LIMIT_SECONDS,
    time_limit=settings.IMPORT_TIME_LIMIT_SECONDS + 60,
)
def run_import_job(self, job_id: str, attempt: int = 1) -> None:
    """Run one attempt of an import job, keeping its progress and heartbeat on its row."""
    now = timezone.now()
    job = claim(job_id, attempt, now)
    if job is None:
        # Gone, retried, or already started: a message delivered again after its worker died.
        mark_interrupted(job_id, attempt, now)
        return
    user = get_user_model().objects.filter(pk=job.user_id, is_active=True).first()
    path = file_path(job)
    if user is None or not path.exists():
        finish(
            job_id,
            attempt,
            timezone.now(),
            status=Status.FAILED,
            error=_("The uploaded file is no longer available; upload it again."),
        )
        return
    outcome = Status.FAILED
    summary = None
    try:
        with Heartbeat(job_id, attempt, threaded=not self.request.is_eager) as heartbeat:
            summary = run_import(path, by=user, dry_run=job.dry_run, progress=heartbeat.progress)
    except CaseError as error:
        finish(job_id, attempt, timezone.now(), status=Status.FAILED, error=error.message)
    except SoftTimeLimitExceeded:
        logger.warning("ledger import job %s stopped at its time limit", job_id)
        finish(
            job_id,
            attempt,
            timezone.now(),
            status=Status.FAILED,
            error=_(
                "The import took longer than the time limit and was stopped; nothing was written. "
                "Split the file into smaller ones and import them one by one."
            ),
        )
    except Exception:
        logger.exception("ledger import job %s failed", job_id)
        finish(
            job_id,
            attempt,
            timezone.now(),
            status=Status.FAILED,
            error=_("The import failed unexpectedly; nothing was written."),
        )
        raise
    else:
        outcome = Status.DONE
        finish(
            job_id,
            attempt,
            timezone.now(),
            status=Status.DONE,
            percent=100,
            summary=summary,
            error="",
            interrupted=False,
        )
    finally:
        # A clean dry run keeps the file so the office can confirm it without uploading again.
        keep = job.dry_run and outcome == Status.DONE and not (summary or {}).get("errors")
        if not keep:
            path.unlink(missing_ok=True)


@shared_task(name="cases.housekeeping", acks_late=True, ignore_result=True)
def housekeeping() -> dict:
    """Daily: expired idempotency keys and stored files no row names (cases/housekeeping.py)."""
    return run_daily(now=timezone.now())
