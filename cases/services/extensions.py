"""Deadline extensions (延期): the assigned department asks for more working days on or before
the due date; the county or city office approves (the due date moves) or rejects."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import workdays
from ..errors import InvalidInput
from ..models import Case, ExtensionRequest
from ._steps import acting
from .checks import clean_text, due_date_of, refuse_integrity, require_text
from .deadlines import merged_versions

EXTENSION_MAX_DAYS_DEFAULT = 10


def extension_max_days() -> int:
    return int(getattr(settings, "EXTENSION_MAX_DAYS", EXTENSION_MAX_DAYS_DEFAULT))


def pending_extension(case: Case, *, lock: bool = False):
    """The request waiting for a decision, or None (no query for a case from a list annotated
    by ``Case.objects.with_pending_extension()`` that has none)."""
    if not lock and getattr(case, "has_pending_extension", None) is False:
        return None
    qs = ExtensionRequest.objects.filter(case=case, status=ExtensionRequest.Status.PENDING)
    if lock:
        qs = qs.select_for_update()
    return qs.first()


def request_extension(
    case: Case | int, *, by: User, reason: str, days: int, source: str | None = None, now: dt.datetime | None = None
) -> Case:
    """The assigned department asks for more working days (申请延期), before the due date."""
    now = now or timezone.now()
    reason = require_text(reason, "reason", _("Reason"))
    limit = extension_max_days()
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise InvalidInput(_("Give the number of working days as a whole number."), field="days") from None
    if days < 1 or days > limit:
        raise InvalidInput(_("An extension is between 1 and %(n)d working days.") % {"n": limit}, field="days")
    with acting("request_extension", case, by=by, now=now, source=source) as act:
        case = act.case
        due = due_date_of(case)
        try:
            with transaction.atomic():
                request = ExtensionRequest.objects.create(
                    case=case,
                    days=days,
                    reason=reason,
                    requested_by=by,
                    requested_at=now,
                    due_date_before=due,
                )
        except IntegrityError as error:
            raise refuse_integrity(error) from None
        act.record({"request": request.pk, "reason": reason, "days": days, "due_date": due.isoformat()})
    return case


def _decide_extension(
    case: Case | int, *, by: User, approve: bool, note: str, source: str | None, now: dt.datetime | None
) -> Case:
    now = now or timezone.now()
    note = clean_text(note, "note")
    if len(note) > 2000:
        raise InvalidInput(
            _("%(label)s is too long (at most %(n)d characters).") % {"label": _("Note"), "n": 2000}, field="note"
        )
    with acting("approve_extension" if approve else "reject_extension", case, by=by, now=now, source=source) as act:
        case, request = act.case, act.facts.pending_request
        before = case.due_date
        payload = {
            "request": request.pk,
            "days": request.days,
            "reason": request.reason,
            "note": note,
            "due_date_before": before.isoformat() if before else None,
        }
        if approve:
            # The extension counts from the current due date, on the calendar as it is now.
            extended = workdays.add_working_days(due_date_of(case), request.days)
            case.due_date = extended.date
            case.due_date_provisional = case.due_date_provisional or extended.provisional
            case.calendar_version = merged_versions(case.calendar_version, extended.calendar_version)
            case.extension_days += request.days
            act.save("due_date", "due_date_provisional", "calendar_version", "extension_days")
            request.status, request.due_date_after = ExtensionRequest.Status.APPROVED, extended.date
            payload["due_date"] = extended.date.isoformat()
        else:
            request.status = ExtensionRequest.Status.REJECTED
        request.decided_by, request.decided_at, request.decision_note = by, now, note
        request.save(update_fields=["status", "due_date_after", "decided_by", "decided_at", "decision_note"])
        act.record(payload, due_date=case.due_date if approve else None)
    return case


def approve_extension(
    case: Case | int, *, by: User, note: str = "", source: str | None = None, now: dt.datetime | None = None
) -> Case:
    """The county or city office grants the pending extension: the due date moves."""
    return _decide_extension(case, by=by, approve=True, note=note, source=source, now=now)


def reject_extension(
    case: Case | int, *, by: User, note: str = "", source: str | None = None, now: dt.datetime | None = None
) -> Case:
    """The county or city office refuses the pending extension: the due date stays."""
    return _decide_extension(case, by=by, approve=False, note=note, source=source, now=now)
