"""Celery tasks of the cases app: the ledger import started from the upload page, daily housekeeping."""
from __future__ import annotations

import logging
import time
from pathlib import Path

from celery import shared_task
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from .housekeeping import run_daily

logger = logging.getLogger(__name__)

# Validation reads quickly; the writing pass is where the time goes.
VALIDATE_SHARE = 30


@shared_task(name="cases.run_import_job", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_import_job(job_id: str) -> None:
    """Run one import job and keep its progress in the cache for the page's progress bar."""
    from .errors import CaseError
    from .import_jobs import get_job, update_job
    from .importing import run_import

    job = get_job(job_id)
    if job is None or job["status"] not in ("queued", "running"):
        return  # expired, or already done by another delivery of this message
    user = get_user_model().objects.filter(pk=job["user"], is_active=True).first()
    path = Path(job["path"])
    if user is None or not path.exists():
        update_job(job_id, status="failed", error=_("The uploaded file is no longer available; upload it again."))
        return
    update_job(job_id, status="running", phase="validating")
    last = {"at": 0.0}

    def progress(phase: str, done: int, fraction: float | None) -> None:
        now = time.monotonic()
        if now - last["at"] < 0.5 and fraction != 1.0:
            return
        last["at"] = now
        share = (fraction or 0.0)
        percent = int(share * VALIDATE_SHARE) if phase == "validating" else VALIDATE_SHARE + int(share * (100 - VALIDATE_SHARE))
        update_job(job_id, phase=phase, processed=done, percent=min(percent, 99))

    try:
        summary = run_import(path, by=user, dry_run=job["dry_run"], progress=progress)
    except CaseError as error:
        update_job(job_id, status="failed", error=error.message)
    except Exception:
        logger.exception("ledger import job %s failed", job_id)
        update_job(job_id, status="failed", error=_("The import failed unexpectedly; nothing was written."))
        raise
    else:
        update_job(job_id, status="done", percent=100, summary=summary)
    finally:
        # A clean dry run keeps the file so the office can confirm it without uploading again.
        finished = get_job(job_id) or {}
        keep = job["dry_run"] and finished.get("status") == "done" and not (finished.get("summary") or {}).get("errors")
        if not keep:
            path.unlink(missing_ok=True)


@shared_task(name="cases.housekeeping", acks_late=True, ignore_result=True)
def housekeeping() -> dict:
    """Daily: expired idempotency keys and stored files no row names (cases/housekeeping.py)."""
    return run_daily(now=timezone.now())
