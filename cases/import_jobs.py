"""Import jobs started from the upload page: the file waits in MEDIA_ROOT/imports/, the job is a
row (ImportJob) that the worker running it keeps up to date — state, progress and a heartbeat.

A job runs at most once per attempt: the worker claims it (queued → running) before starting,
so a message delivered again after a crash finds it taken and does not start it twice. A running
job whose heartbeat is older than IMPORT_JOB_DEAD_AFTER_SECONDS has lost its worker: its page says
so, and a retry queues the same stored file as the next attempt.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePath

from django.conf import settings
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _

from .models import ImportJob

# Files of jobs never confirmed or never finished are removed after this long.
FILE_TTL = 24 * 3600
Status = ImportJob.Status


def upload_dir() -> Path:
    folder = Path(settings.MEDIA_ROOT) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def file_path(job: ImportJob) -> Path:
    return Path(settings.MEDIA_ROOT) / "imports" / job.stored_name


def _remove_stale_files(folder: Path) -> None:
    """Files of jobs older than FILE_TTL (an unconfirmed dry run, a crashed worker)."""
    limit = time.time() - FILE_TTL
    for stale in folder.iterdir():
        try:
            if stale.is_file() and stale.stat().st_mtime < limit:
                stale.unlink()
        except OSError:
            continue


def create_job(upload=None, *, user, dry_run: bool, now: dt.datetime, from_job: ImportJob | None = None) -> ImportJob:
    """A job for a new upload, or (``from_job``) the real run of a confirmed dry run's file."""
    job_id = uuid.uuid4().hex
    if from_job is not None:
        stored_name, file_name = from_job.stored_name, from_job.file_name
    else:
        folder = upload_dir()
        _remove_stale_files(folder)
        suffix = PurePath(upload.name or "").suffix.lower()[:10]
        stored_name = f"{job_id}{suffix}"
        with (folder / stored_name).open("wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        file_name = PurePath(upload.name or "").name[:200]
    return ImportJob.objects.create(
        id=job_id, user=user, file_name=file_name, stored_name=stored_name, dry_run=dry_run, created_at=now
    )


def get_job_for_user(user, job_id: str) -> ImportJob:
    """The job if this user started it; 404 otherwise."""
    job_id = str(job_id)
    job = ImportJob.objects.filter(pk=job_id, user=user).first() if job_id.isascii() and job_id.isalnum() else None
    if job is None:
        raise Http404
    return job


# -- liveness -----------------------------------------------------------------------------------


def dead_after() -> dt.timedelta:
    return dt.timedelta(seconds=settings.IMPORT_JOB_DEAD_AFTER_SECONDS)


def is_interrupted(job: ImportJob, now: dt.datetime) -> bool:
    """A running job whose worker has not been heard of for IMPORT_JOB_DEAD_AFTER_SECONDS."""
    if job.status != Status.RUNNING:
        return False
    last_sign = job.heartbeat_at or job.started_at or job.created_at
    return now - last_sign > dead_after()


def interrupted_message() -> str:
    return _("The background job was interrupted (its worker stopped). Nothing of this attempt is kept; retry it.")


@dataclass(frozen=True)
class JobView:
    """What the page and the status endpoint show of a job at ``now``."""

    job: ImportJob
    status: str
    error: str
    interrupted: bool
    can_retry: bool
    can_confirm: bool

    def as_status(self) -> dict:
        return {
            "status": self.status,
            "phase": self.job.phase,
            "processed": self.job.processed,
            "percent": self.job.percent,
            "error": self.error,
            "can_retry": self.can_retry,
        }


def view_of(job: ImportJob, now: dt.datetime) -> JobView:
    interrupted = is_interrupted(job, now)
    summary = job.summary or {}
    stored = file_path(job).exists()
    return JobView(
        job=job,
        status=Status.FAILED if interrupted else job.status,
        error=interrupted_message() if interrupted else job.error,
        interrupted=interrupted,
        can_retry=(interrupted or (job.status == Status.FAILED and job.interrupted)) and stored,
        can_confirm=(
            job.dry_run
            and job.status == Status.DONE
            and not summary.get("errors")
            and summary.get("created", 0) > 0
            and stored
        ),
    )


# -- the worker's side ----------------------------------------------------------------------------


def claim(job_id: str, attempt: int, now: dt.datetime) -> ImportJob | None:
    """Take a queued job for this attempt; None when it is gone, another attempt's or already taken."""
    taken = ImportJob.objects.filter(pk=job_id, attempt=attempt, status=Status.QUEUED).update(
        status=Status.RUNNING,
        phase="validating",
        started_at=now,
        heartbeat_at=now,
        processed=0,
        percent=0,
    )
    return ImportJob.objects.filter(pk=job_id).first() if taken else None


def beat(job_id: str, attempt: int, now: dt.datetime, **progress) -> bool:
    """Record that the attempt is alive (and its progress); False when it is no longer the job's."""
    return bool(
        ImportJob.objects.filter(pk=job_id, attempt=attempt, status=Status.RUNNING).update(heartbeat_at=now, **progress)
    )


def finish(job_id: str, attempt: int, now: dt.datetime, *, status: str, **changes) -> bool:
    return bool(
        ImportJob.objects.filter(pk=job_id, attempt=attempt)
        .exclude(status=Status.DONE)
        .update(status=status, finished_at=now, heartbeat_at=now, **changes)
    )


def mark_interrupted(job_id: str, attempt: int, now: dt.datetime) -> bool:
    """A redelivered message of a crashed attempt: record the job as failed (the page offered a retry)."""
    return bool(
        ImportJob.objects.filter(pk=job_id, attempt=attempt, status=Status.RUNNING)
        .filter(Q(heartbeat_at__lt=now - dead_after()) | Q(heartbeat_at__isnull=True))
        .update(status=Status.FAILED, interrupted=True, error=interrupted_message(), finished_at=now)
    )


# -- the user's side ------------------------------------------------------------------------------


def reopen_for_retry(job: ImportJob, now: dt.datetime) -> ImportJob | None:
    """Queue an interrupted job's file again as the next attempt; None when it may not be retried
    (it finished meanwhile, someone else retried it first, the file is gone)."""
    if not view_of(job, now).can_retry:
        return None
    stale = Q(status=Status.RUNNING) & (Q(heartbeat_at__lt=now - dead_after()) | Q(heartbeat_at__isnull=True))
    failed = Q(status=Status.FAILED, interrupted=True)
    reopened = (
        ImportJob.objects.filter(pk=job.pk, attempt=job.attempt)
        .filter(stale | failed)
        .update(
            status=Status.QUEUED,
            attempt=job.attempt + 1,
            phase="",
            processed=0,
            percent=0,
            summary=None,
            error="",
            interrupted=False,
            started_at=None,
            heartbeat_at=None,
            finished_at=None,
        )
    )
    return ImportJob.objects.get(pk=job.pk) if reopened else None


def refuse_unqueued(job: ImportJob, now: dt.datetime, *, remove_file: bool, retryable: bool = False) -> None:
    """The broker would not take the job: record it as failed (still retryable when it was a retry),
    and remove a new upload's file so that nothing is left behind in MEDIA_ROOT/imports/."""
    ImportJob.objects.filter(pk=job.pk, attempt=job.attempt).update(
        status=Status.FAILED, interrupted=retryable, error=broker_unavailable_message(), finished_at=now
    )
    if remove_file:
        file_path(job).unlink(missing_ok=True)


def broker_unavailable_message() -> str:
    return _("The background job service is unavailable right now; please try again later.")
