"""Inbox messages about a change to a case, from ``cases.signals.case_changed`` (sent after the
change committed; ``cases`` never imports this app).

Who hears what:

* routed or rerouted (交办, 改派): the department it now lies with;
* returned (退单): the office of the case's region;
* an extension asked for (申请延期): the office of the case's region;
* an extension approved or rejected: the department that asked.

The message is written in the language active where the change was made, as before the change
was announced by a signal (the listener runs in the same thread, right after the commit).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS
from django.utils.translation import gettext as _

from cases.models import Case
from cases.services import department_users, office_users

from . import services
from .models import Kind


def _routed(case: Case, payload: dict) -> tuple:
    message = _("Case %(number)s (%(enterprise)s) has been routed to your department; due %(due)s.") % {
        "number": case.number,
        "enterprise": case.enterprise.name,
        "due": case.due_date,
    }
    return department_users(payload["department"]), Kind.ASSIGNED, message


def _returned(case: Case, payload: dict) -> tuple:
    message = _("Case %(number)s was returned by %(department)s: %(reason)s") % {
        "number": case.number,
        "department": payload["department_name"],
        "reason": payload["reason"],
    }
    return office_users(case.region), Kind.RETURNED, message


def _extension_requested(case: Case, payload: dict) -> tuple:
    message = _("%(number)s: %(department)s asks for %(days)d more working days (due %(due)s). Reason: %(reason)s") % {
        "number": case.number,
        "department": case.department.name,
        "days": payload["days"],
        "due": payload["due_date"],
        "reason": payload["reason"],
    }
    return office_users(case.region), Kind.EXTENSION, message


def _extension_decided(case: Case, payload: dict) -> tuple:
    if "due_date" in payload:  # approved: the new due date
        message = _("%(number)s: the extension of %(days)d working days is approved; the new due date is %(due)s.") % {
            "number": case.number,
            "days": payload["days"],
            "due": payload["due_date"],
        }
    else:
        message = _("%(number)s: the extension request is rejected; the due date stays %(due)s.") % {
            "number": case.number,
            "due": case.due_date.isoformat() if case.due_date else "—",
        }
    if payload["note"]:
        message += " " + _("Note: %(note)s") % {"note": payload["note"]}
    return department_users(case.department_id), Kind.EXTENSION, message


MESSAGES: dict[str, Callable[[Case, dict], tuple]] = {
    "assign": _routed,
    "reassign": _routed,
    "return": _returned,
    "request_extension": _extension_requested,
    "approve_extension": _extension_decided,
    "reject_extension": _extension_decided,
}


def tell_about_case_change(sender, *, action: str, case: Case, payload: dict, **kwargs) -> None:
    message_for = MESSAGES.get(action)
    if message_for is None:
        return
    # The change has just committed on the primary; a replica may not have it yet, so what the
    # message names (enterprise, department) is read from the primary, in one query.
    case = Case.objects.using(DEFAULT_DB_ALIAS).select_related("enterprise", "department", "region").get(pk=case.pk)
    users, kind, message = message_for(case, payload)
    services.notify_many(users, kind=kind, message=message, case_id=case.pk)
