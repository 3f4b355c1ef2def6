"""The office's actions after closing: reopening (重办) and the enterprise's response (回访)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import InvalidInput
from ..models import Case, CaseAssignment, FollowUp
from ._steps import acting
from .checks import assigned_department_id, clean_text, require_text


def reopen(
    case: Case | int, *, by: User, reason: str, source: str | None = None, now: dt.datetime | None = None
) -> Case:
    """Send a closed case back to its department (重办), e.g. the enterprise is not satisfied."""
    now = now or timezone.now()
    reason = require_text(reason, "reason", _("Reason"))
    with acting("reopen", case, by=by, now=now, source=source) as act:
        act.transition()
        department_id = assigned_department_id(act.case)
        CaseAssignment.record(act.case, department_id, now)
        act.record({"reason": reason, "department": department_id})
    return act.case


def record_follow_up(
    case: Case | int,
    *,
    by: User,
    satisfaction: str,
    note: str = "",
    source: str | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Record the enterprise's response after closing (回访)."""
    now = now or timezone.now()
    if satisfaction not in Case.Satisfaction.values:
        raise InvalidInput(_("Choose satisfied, basically satisfied or dissatisfied."), field="satisfaction")
    note = clean_text(note, "note")[:2000]
    with acting("follow_up", case, by=by, now=now, source=source) as act:
        act.case.satisfaction = satisfaction
        act.save("satisfaction")
        FollowUp.objects.create(case=act.case, satisfaction=satisfaction, note=note, recorded_by=by, recorded_at=now)
        act.record({"satisfaction": satisfaction, "note": note})
    return act.case
