"""Scoring listens to the layers below: the stored scores (``scoring.snapshots``) are refreshed
off the request — after case changes (with Celery) and on each round of the embedded timers."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)

QUEUED_KEY = "scoring:snapshot:refresh-queued"


def on_case_changed(sender, **kwargs) -> None:
    """With a Celery worker: one refresh queued a minute after a change, at most one a minute.
    Without one (tasks run eagerly, in the request) nothing here: the timers' round refreshes."""
    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        return
    delay = int(getattr(settings, "SCORE_SNAPSHOT_DEBOUNCE_SECONDS", 60))
    if not cache.add(QUEUED_KEY, 1, delay):
        return  # one is already queued
    from .tasks import refresh_snapshots

    try:
        refresh_snapshots.apply_async(countdown=delay)
    except Exception:  # noqa: BLE001 - the broker is down: the beat's interval refreshes anyway
        log.warning("could not queue the stored scores' refresh", exc_info=True)
        cache.delete(QUEUED_KEY)


def on_timers_tick(sender, now=None, **kwargs) -> None:
    from . import trend_snapshots
    from .snapshots import refresh_due

    refreshed = refresh_due()
    if refreshed:
        log.info("stored scores refreshed: %s", refreshed)
    trends = trend_snapshots.refresh_due()
    if trends:
        log.info("stored trends refreshed: %s", trends)
