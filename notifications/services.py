"""Putting messages in inboxes and sending them out, with a record of every attempt.

Two ways out:

* ``deliver`` tries a transport once, now, and records the attempt (used where the caller wants
  the outcome at once, e.g. issuing a notice).
* ``queue`` records a *pending* delivery inside the caller's transaction; it is sent after
  commit by ``send_delivery`` (a Celery task taking the id, or in-process on the embedded
  default). The database row is the truth: if the broker is down the next sweep sends it.

A failed attempt is retried by the next sweep (``retry_failed``), as a new attempt row.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from . import transports
from .models import Delivery, Notification

log = logging.getLogger(__name__)


def _pending_grace() -> dt.timedelta:
    # A pending delivery older than this is sent by the sweep itself (its task was lost or late).
    return dt.timedelta(seconds=int(getattr(settings, "DELIVERY_PENDING_GRACE_SECONDS", 120)))


def _sending_stale_after() -> dt.timedelta:
    # A delivery left "sending" this long belongs to a process that died mid-send.
    return dt.timedelta(seconds=int(getattr(settings, "DELIVERY_STALE_SECONDS", 900)))


def notify_many(
    users: Iterable,
    *,
    kind: str,
    message: str,
    case_id: int | None = None,
    email_subject: str | None = None,
    purpose: str = "notification",
) -> list[Notification]:
    """Inbox messages for several users in one transaction; emails queued and sent after commit."""
    notes = []
    with transaction.atomic():
        for user in users:
            note = Notification.objects.create(user=user, kind=kind, message=message, case_id=case_id)
            notes.append(note)
            if user.email:
                queue(
                    "email",
                    address=user.email,
                    subject=email_subject or message[:80],
                    body=message,
                    purpose=f"{purpose}:{note.pk}",
                    notification=note,
                )
    return notes


def queue(transport: str, *, address: str, subject: str, body: str, purpose: str, notification=None) -> Delivery:
    """Record a pending delivery now; it is sent once the surrounding transaction commits."""
    delivery = Delivery.objects.create(
        transport=transport,
        address=address,
        subject=subject[:200],
        body=body,
        purpose=purpose[:100],
        notification=notification,
        status=Delivery.Status.PENDING,
    )
    transaction.on_commit(lambda: enqueue_send(delivery.pk))
    return delivery


def enqueue_send(delivery_id: int) -> None:
    """Ask a worker to send the delivery. Never raises: with the broker down the row stays
    pending and the next sweep sends it, so no request or transition depends on Redis."""
    from .tasks import send_delivery

    try:
        if send_delivery.app.conf.task_always_eager:
            # Embedded default: no broker at all, send in this process right away.
            send_pending(delivery_id)
            return
        send_delivery.delay(delivery_id)
    except Exception:  # noqa: BLE001 - broker trouble must not break the caller
        log.warning("could not enqueue delivery %s; the next sweep will send it", delivery_id, exc_info=True)


def send_pending(delivery_id: int, *, now: dt.datetime | None = None) -> bool:
    """Send one pending delivery if nobody else has taken it; True when this call sent it."""
    now = now or timezone.now()
    claimed = Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SENDING, attempted_at=now
    )
    if not claimed:
        return False
    delivery = Delivery.objects.get(pk=delivery_id)
    try:
        transports.get(delivery.transport).send(address=delivery.address, subject=delivery.subject, body=delivery.body)
    except Exception as error:  # noqa: BLE001 - any transport failure is recorded for retry
        log.warning("delivery %s to %s failed: %r", delivery_id, delivery.address, error)
        Delivery.objects.filter(pk=delivery_id).update(status=Delivery.Status.FAILED, error=repr(error)[:2000])
        return False
    Delivery.objects.filter(pk=delivery_id).update(status=Delivery.Status.SENT, error="")
    return True


def deliver(transport: str, *, address: str, subject: str, body: str, purpose: str, notification=None) -> Delivery:
    """Try once and record the attempt; a failure is recorded, not raised (a later sweep retries)."""
    try:
        transports.get(transport).send(address=address, subject=subject, body=body)
    except Exception as error:  # noqa: BLE001 - any transport failure is recorded for retry
        outcome = {"status": Delivery.Status.FAILED, "error": repr(error)[:2000]}
    else:
        outcome = {"status": Delivery.Status.SENT, "attempted_at": timezone.now()}
    return Delivery.objects.create(
        transport=transport,
        address=address,
        subject=subject[:200],
        body=body,
        purpose=purpose[:100],
        notification=notification,
        **outcome,
    )


def recover_and_send(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """The sweep's catch-up on deliveries: send pending rows whose task was lost, fail rows
    left "sending" by a dead process, and retry failed ones. Returns attempts made."""
    now = now or timezone.now()
    Delivery.objects.filter(status=Delivery.Status.SENDING, attempted_at__lt=now - _sending_stale_after()).update(
        status=Delivery.Status.FAILED, error="interrupted: the sending process stopped"
    )
    attempts = 0
    for delivery_id in retry_failed(now=now, limit=limit):
        send_pending(delivery_id, now=now)
        attempts += 1
    stale = (
        Delivery.objects.filter(status=Delivery.Status.PENDING, attempted_at__lt=now - _pending_grace())
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in list(stale):
        send_pending(delivery_id, now=now)
        attempts += 1
    return attempts


def retry_failed(*, now: dt.datetime, limit: int = 500) -> list[int]:
    """Queue a new attempt for each failed delivery that was not yet retried, has attempts
    left and whose purpose/address was not delivered meanwhile. Returns the new rows' ids."""
    delivered = Delivery.objects.filter(
        purpose=OuterRef("purpose"), address=OuterRef("address"), status=Delivery.Status.SENT
    )
    failed = (
        Delivery.objects.filter(status=Delivery.Status.FAILED, retried_at=None, attempt__lt=Delivery.MAX_ATTEMPTS)
        .exclude(Exists(delivered))
        .order_by("id")[:limit]
    )
    new_ids = []
    for old in list(failed):
        with transaction.atomic():
            # Compare-and-swap: only one sweep retries a given failed attempt.
            if not Delivery.objects.filter(pk=old.pk, retried_at=None).update(retried_at=now):
                continue
            retry = Delivery.objects.create(
                transport=old.transport,
                address=old.address,
                subject=old.subject,
                body=old.body,
                purpose=old.purpose,
                notification_id=old.notification_id,
                status=Delivery.Status.PENDING,
                attempt=old.attempt + 1,
                attempted_at=now,
            )
        new_ids.append(retry.pk)
    return new_ids


def unread_count(user) -> int:
    return Notification.objects.filter(user=user, read_at=None).count()


def mark_read(notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def mark_all_read(user, *, now: dt.datetime | None = None) -> int:
    return Notification.objects.filter(user=user, read_at=None).update(read_at=now or timezone.now())
