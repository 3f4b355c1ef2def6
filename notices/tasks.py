"""Celery beat tasks of the notices: draft each schedule's notice once its period has ended, and
send what is pending (deliveries a dead worker left "sending", once their claim expired) and
record delivery retries. Both are safe to run twice (drafting is idempotent, sending claims each
row)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="notices.draft_due_notices", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def draft_due_notices() -> list[int]:
    from .services import draft_due_notices as draft

    return [notice.pk for notice in draft()]


@shared_task(name="notices.sync_failed_deliveries", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def sync_failed_deliveries() -> int:
    from .services import send_pending_deliveries
    from .services import sync_failed_deliveries as sync

    send_pending_deliveries()
    return sync()


@shared_task(name="notices.refresh_draft_figures", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def refresh_draft_figures() -> list[str]:
    """Every due period's stored figures, when missing or stale (``notices.figures.refresh_due``)."""
    from .figures import refresh_due

    return refresh_due()


@shared_task(name="notices.refresh_draft_figures_of", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def refresh_draft_figures_of(region_id: int, period_key: str) -> bool:
    """One region's period, queued by a request that found its stored figures stale."""
    from .figures import refresh_one

    return refresh_one(region_id, period_key)
