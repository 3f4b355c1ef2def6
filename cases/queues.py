"""The work queues (工作队列): which cases wait for whom, each as one condition on a case.

The dashboard counts and lists them, the 台帐's 队列 filter shows the whole of one, and the city
office's table counts every queue per county in one grouped query — all from these conditions, so
"how many wait to be routed" is the same number on every page.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from .models import CLOSED_STATES, OPEN_STATES, ExtensionRequest, State


class Queue(models.TextChoices):
    # The county or city office's queues.
    TO_ROUTE = "to_route", _("To be routed")  # 待交办
    RETURNED = "returned", _("Returned by a department")  # 退单
    EXTENSION = "extension", _("Extension awaiting approval")  # 延期待审批
    OVERDUE = "overdue", _("Overdue / supervised")  # 逾期/督办
    FOLLOW_UP = "follow_up", _("Awaiting follow-up")  # 待回访
    # The department's (and, for the office, what the departments have not yet taken up).
    TO_ACKNOWLEDGE = "to_acknowledge", _("Awaiting acknowledgement")  # 待签收
    IN_HAND = "in_hand", _("Being handled")  # 办理中


OFFICE_QUEUES = (Queue.TO_ROUTE, Queue.RETURNED, Queue.EXTENSION, Queue.OVERDUE, Queue.FOLLOW_UP, Queue.TO_ACKNOWLEDGE)


def routed_before() -> Q:
    """The case has been routed at least once: a received case with a routing was returned.

    Read from the case's own ``first_assigned_at`` (set by its first routing, never cleared),
    not from its routings (a CaseAssignment row exists exactly when it is set: every routing
    writes one, and a case is only ever routed — re-routed, reopened — after a first ``assign``,
    or imported routed with its time): so that the to-route and returned queues are ranges of
    their partial indexes (``case_to_route_idx``, ``case_returned_idx``) instead of a probe of
    the routings per received case."""
    return Q(first_assigned_at__isnull=False)


def extension_pending() -> Exists:
    return Exists(ExtensionRequest.objects.filter(case=OuterRef("pk"), status=ExtensionRequest.Status.PENDING))


def condition(queue: str, today: dt.date) -> Q:
    """The condition a case meets while it is in the queue (``today``: the local date)."""
    if queue == Queue.TO_ROUTE:
        return Q(state=State.RECEIVED, first_assigned_at__isnull=True)
    if queue == Queue.RETURNED:
        return Q(state=State.RECEIVED) & routed_before()
    if queue == Queue.EXTENSION:
        return Q(state=State.ASSIGNED) & extension_pending()
    if queue == Queue.OVERDUE:
        # Past the due date, or marked 督办 by the sweep (which only marks overdue cases).
        return Q(state__in=OPEN_STATES) & (Q(due_date__lt=today) | Q(supervised=True))
    if queue == Queue.FOLLOW_UP:
        return Q(state__in=CLOSED_STATES, satisfaction="")
    if queue == Queue.TO_ACKNOWLEDGE:
        return Q(state=State.ASSIGNED, acknowledged_at__isnull=True)
    if queue == Queue.IN_HAND:
        return Q(state=State.ASSIGNED, acknowledged_at__isnull=False)
    raise ValueError(f"unknown queue: {queue}")


ORDERING = {
    Queue.TO_ROUTE: ("received_at", "id"),
    Queue.RETURNED: ("received_at", "id"),
    Queue.EXTENSION: ("due_date", "id"),
    Queue.OVERDUE: ("due_date", "id"),
    Queue.FOLLOW_UP: ("closed_at", "id"),
    Queue.TO_ACKNOWLEDGE: ("assigned_at", "id"),
    Queue.IN_HAND: ("due_date", "id"),
}


def in_queue(cases, queue: str, today: dt.date):
    """The cases of a (scoped) queryset that are in the queue, oldest work first. Every queue but
    the follow-up holds open cases only: a department's scope reads its open rows for them."""
    if queue != Queue.FOLLOW_UP:
        cases = cases.open_rows_only()
    return cases.filter(condition(queue, today)).order_by(*ORDERING[queue])


def _plain(text: str) -> str:
    return "".join(ch for ch in (text or "") if ch.isalnum())


def suggested_department(text: str, departments, *, region=None, exclude_id: int | None = None):
    """The department a returning department's free-text suggestion names, or None.

    The return form takes the suggestion as text ("人社局", "浉河区人社局", "请转交相关部门"): it
    names a department when it is one's name exactly, or — the county's name set aside — exactly
    one routable department's name ends with it (or it with the name); where a county's and a
    city's department both do ("发展改革委"), the county's own. Anything vaguer preselects
    nothing: the office chooses.
    """
    wanted = _plain(text)
    candidates = [d for d in departments if d.pk != exclude_id]
    if len(wanted) < 2 or not candidates:
        return None
    exact = [d for d in candidates if _plain(d.name) == wanted]
    if len(exact) == 1:
        return exact[0]
    short = wanted.removeprefix(_plain(region.name)) if region is not None else wanted
    if len(short) < 2:
        return None
    matches = [d for d in candidates if _plain(d.name).endswith(short) or short.endswith(_plain(d.name))]
    if len(matches) > 1 and region is not None:
        matches = [d for d in matches if d.region_id == region.pk]
    return matches[0] if len(matches) == 1 else None
