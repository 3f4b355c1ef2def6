"""Import jobs started from the upload page: the file waits in MEDIA_ROOT/imports/, the state
and progress of the job live in the cache (shared with the workers through Redis in production)."""
from __future__ import annotations

import time
import uuid
from pathlib import Path, PurePath

from django.conf import settings
from django.core.cache import cache
from django.http import Http404

JOB_TTL = 24 * 3600


def _key(job_id: str) -> str:
    return f"ledger-import:{job_id}"


def upload_dir() -> Path:
    folder = Path(settings.MEDIA_ROOT) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _remove_stale_files(folder: Path) -> None:
    """Files of jobs whose entry expired (an unconfirmed dry run, a crashed worker)."""
    limit = time.time() - JOB_TTL
    for stale in folder.iterdir():
        try:
            if stale.is_file() and stale.stat().st_mtime < limit:
                stale.unlink()
        except OSError:
            continue


def create_job(upload=None, *, user, dry_run: bool, from_job: dict | None = None) -> dict:
    """A job for a new upload, or (``from_job``) the real run of a confirmed dry run's file."""
    job_id = uuid.uuid4().hex
    if from_job is not None:
        path, file_name = Path(from_job["path"]), from_job["file_name"]
    else:
        folder = upload_dir()
        _remove_stale_files(folder)
        suffix = PurePath(upload.name or "").suffix.lower()[:10]
        path = folder / f"{job_id}{suffix}"
        with path.open("wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        file_name = PurePath(upload.name or "").name[:200]
    job = {
        "id": job_id, "user": user.pk, "file_name": file_name, "path": str(path),
        "dry_run": dry_run, "status": "queued", "phase": "", "processed": 0, "percent": 0, "summary": None,
        "error": "",
    }
    cache.set(_key(job_id), job, JOB_TTL)
    return job


def get_job(job_id: str) -> dict | None:
    return cache.get(_key(job_id))


def get_job_for_user(user, job_id: str) -> dict:
    """The job if this user started it; 404 otherwise."""
    job = get_job(str(job_id)) if str(job_id).isalnum() else None
    if job is None or job["user"] != user.pk:
        raise Http404
    return job


def update_job(job_id: str, **changes) -> dict | None:
    job = get_job(job_id)
    if job is None:
        return None
    job.update(changes)
    cache.set(_key(job_id), job, JOB_TTL)
    return job
