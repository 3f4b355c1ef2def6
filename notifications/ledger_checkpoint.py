"""The daily ledger checkpoint and its email to the city office.

``take_daily`` re-hashes every chain (so a rewrite behind the triggers' back reaches item 13 by
the next day at the latest) and takes a checkpoint of every case (``ledger.checkpoint``). The
ledger announces each checkpoint once it commits; ``send_to_city_office`` (connected in
``NotificationsConfig.ready``) queues an email with the roots to every active city-office user
who has an address — a copy outside the database that a later ``verify_ledger --checkpoint``
can be held against.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.contrib.auth import get_user_model
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, Region
from cases.roles import Role
from ledger import checkpoint, integrity
from ledger.models import LedgerCheckpoint

from .services import queue

log = logging.getLogger(__name__)


def take_daily(*, now: dt.datetime, verify: bool = True) -> LedgerCheckpoint:
    """A full verification pass (recorded on the heads), then a checkpoint of every case."""
    if verify:
        integrity.verify_all(Case.objects.all(), now=now)
    return checkpoint.take(Case.objects.all(), now=now)


def city_office_addresses() -> list[str]:
    users = get_user_model().objects.filter(is_active=True, profile__role=Role.CITY_OFFICE).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def send_to_city_office(sender=None, *, checkpoint: LedgerCheckpoint, **kwargs) -> int:
    """Queue the checkpoint's email to the city office (sent after commit); how many queued."""
    addresses = city_office_addresses()
    if not addresses:
        log.warning("ledger checkpoint %s: no active city-office user has an email address", checkpoint.pk)
        return 0
    names = dict(Region.objects.filter(code__in=list(checkpoint.regions)).values_list("code", "name"))
    subject = _("Ledger checkpoint %(when)s: %(root)s") % {
        "when": checkpoint.created_at.strftime("%Y-%m-%d %H:%M"),
        "root": checkpoint.root[:16],
    }
    body = render_to_string(
        "notifications/ledger_checkpoint_email.txt",
        {
            "checkpoint": checkpoint,
            "regions": [(code, names.get(code, code), checkpoint.regions[code]) for code in sorted(checkpoint.regions)],
        },
    )
    with transaction.atomic():
        for address in addresses:
            queue("email", address=address, subject=subject, body=body, purpose=f"ledger_checkpoint:{checkpoint.pk}")
    return len(addresses)


def take_if_due(*, now: dt.datetime) -> LedgerCheckpoint | None:
    """The embedded default's daily checkpoint: one per local day, the first timer run of the day
    takes it (the table says whether today's exists, so a restart does not take a second)."""
    today = timezone.localtime(now).date()
    start = dt.datetime.combine(today, dt.time(), tzinfo=timezone.get_current_timezone())
    if LedgerCheckpoint.objects.filter(created_at__gte=start).exists():
        return None
    return take_daily(now=now)
