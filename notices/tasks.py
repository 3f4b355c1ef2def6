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
