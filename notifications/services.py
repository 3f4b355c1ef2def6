"""Putting messages in inboxes and sending them out, with a record of every attempt."""
from __future__ import annotations

from django.utils import timezone

from . import transports
from .models import Delivery, Notification


def notify(user, *, kind: str, message: str, case=None, email_subject: str | None = None) -> Notification:
    """Put a message in the user's inbox and, when the user has an address, email it."""
    note = Notification.objects.create(user=user, kind=kind, message=message, case=case)
    if user.email:
        deliver(
            "email", address=user.email, subject=email_subject or message[:80], body=message,
            purpose=f"notification:{note.pk}", notification=note,
        )
    return note


def deliver(transport: str, *, address: str, subject: str, body: str, purpose: str, notification=None) -> Delivery:
    """Try once and record the attempt; a failure is recorded, not raised (a later sweep retries)."""
    try:
        transports.get(transport).send(address=address, subject=subject, body=body)
    except Exception as error:  # noqa: BLE001 - any transport failure is recorded for retry
        return Delivery.objects.create(
            transport=transport, address=address, subject=subject[:200], purpose=purpose,
            notification=notification, status=Delivery.Status.FAILED, error=repr(error)[:2000],
        )
    return Delivery.objects.create(
        transport=transport, address=address, subject=subject[:200], purpose=purpose,
        notification=notification, status=Delivery.Status.SENT, attempted_at=timezone.now(),
    )


def unread_count(user) -> int:
    return Notification.objects.filter(user=user, read_at=None).count()


def mark_read(notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification
