"""Reminding a department of a pending case that decides item 15 (from the outlook page).

One click does three things in one transaction: a handling note on the case's ledger (who was
reminded, of which due date), an inbox message to each of the department's staff, and an email to
each of them with an address (queued, sent after commit). A second reminder of the same case on
the same day is refused (409): a double click must not send the department two letters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import notes
from cases.errors import NotAllowed, NotFound, WrongState
from cases.models import Case, Department, State, local_date
from cases.roles import Role, acts_for_region
from notifications import services as notifications
from notifications.models import Kind

PURPOSE = "reminder"


@dataclass(frozen=True)
class Reminded:
    case: Case
    department: Department  # the one reminded
    users: int
    emails: int


def department_staff(department_id: int):
    """The active users of the department (its 责任单位 accounts)."""
    return (
        get_user_model()
        .objects.filter(is_active=True, profile__role=Role.DEPARTMENT, profile__department_id=department_id)
        .order_by("username")
    )


def remind_department(case_number: str, *, by, region, now: dt.datetime | None = None) -> Reminded:
    """Remind the department a pending case of ``region`` is with of its due date."""
    now = now or timezone.now()
    today = local_date(now)
    case = (
        Case.objects.for_user(by)
        .filter(number=str(case_number or "").strip()[:40], region=region)
        .select_related("department", "enterprise", "region")
        .first()
    )
    if case is None:
        raise NotFound(_("No such case."))
    if not acts_for_region(by, case.region):
        raise NotAllowed(_("Only the county office of this region or the city office may remind a department."))
    department = case.department
    if case.state != State.ASSIGNED or department is None:
        raise WrongState(
            _("Only a case with a department can be reminded; this one is %(state)s.")
            % {"state": case.get_state_display()}
        )
    recipients = list(department_staff(department.pk))
    message = _(
        "Please close case %(number)s (%(enterprise)s) by its due date %(due)s: it counts towards "
        "%(region)s's item 15 (timeliness) at the year's cutoff."
    ) % {
        "number": case.number,
        "enterprise": case.enterprise.name,
        "due": case.due_date.isoformat(),
        "region": case.region.name,
    }
    with transaction.atomic():
        # Under the case's row lock, so two clicks at once cannot both pass "not yet today".
        Case.objects.select_for_update().filter(pk=case.pk).first()
        if notes.notes_since(case, purpose=PURPOSE, day=today):
            raise WrongState(_("The department was already reminded of this case today."))
        notes.add_note(
            case,
            by=by,
            note=message,
            purpose=PURPOSE,
            now=now,
            details={
                "department_name": department.name,
                "due_date": case.due_date.isoformat(),
                "recipients": [user.get_username() for user in recipients],
            },
        )
        notifications.notify_many(
            recipients,
            kind=Kind.REMINDER,
            message=message,
            case_id=case.pk,
            email_subject=_("Reminder: case %(number)s is due %(due)s")
            % {"number": case.number, "due": case.due_date.isoformat()},
            purpose=PURPOSE,
        )
    return Reminded(case, department, len(recipients), sum(1 for user in recipients if user.email))
