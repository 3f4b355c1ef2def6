"""Celery tasks of the timers. They take ids (or nothing), run acks_late and are safe to run
twice: the outbox rows, not the messages in Redis, decide what is sent."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="notifications.sweep_deadlines", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def sweep_deadlines() -> dict:
    """The beat task: one deadline sweep (see notifications.sweep)."""
    from .sweep import run_sweep

    run = run_sweep()
    return {"run": run.pk, "planned": run.planned, "sent": run.sent, "errors": len(run.errors)}


@shared_task(name="notifications.send_delivery", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_delivery(delivery_id: int) -> bool:
    """Send one queued delivery; a no-op when someone else already sent it."""
    from .services import send_pending

    return send_pending(delivery_id)


@shared_task(
    name="notifications.remind_awaited_calendar", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def remind_awaited_calendar() -> int | None:
    """The beat task: the city office's weekly message while next year's holidays are not entered."""
    from .calendar_watch import remind_awaited_calendar as remind

    reminder = remind()
    return reminder.pk if reminder else None


@shared_task(name="notifications.ledger_checkpoint", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def ledger_checkpoint() -> int:
    """The daily beat task: re-hash every chain, then checkpoint the ledger and email the roots."""
    from django.utils import timezone

    from .ledger_checkpoint import take_daily

    return take_daily(now=timezone.now()).pk
