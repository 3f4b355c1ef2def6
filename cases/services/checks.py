"""The checks every service makes: input text, the actor's role, and how a refusal is worded
(a wrong state, or a case that moved on since the actor loaded it)."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError
from django.utils.translation import gettext as _

from ..errors import InvalidInput, MovedOn, NotAllowed, WrongState
from ..input_rules import text_problem
from ..models import Case, CaseAssignment, Department, Region, state_label
from ..roles import acts_for_region, department_of


def require_text(value: str | None, field: str, label: str, *, max_length: int = 5000, multiline: bool = True) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(_("%(label)s is required.") % {"label": label}, field=field)
    problem = text_problem(value, multiline=multiline)
    if problem:
        raise InvalidInput(problem, field=field)
    if len(value) > max_length:
        raise InvalidInput(
            _("%(label)s is too long (at most %(n)d characters).") % {"label": label, "n": max_length}, field=field
        )
    return value


def clean_text(value: str | None, field: str, *, multiline: bool = True) -> str:
    """Optional text: stripped, and refused when it holds control characters (cases.input_rules)."""
    value = (value or "").strip()
    problem = text_problem(value, multiline=multiline)
    if problem:
        raise InvalidInput(problem, field=field)
    return value


def wrong_state(state: str) -> WrongState:
    return WrongState(_("This action is not possible while the case is “%(state)s”.") % {"state": state_label(state)})


def moved_on() -> MovedOn:
    return MovedOn(_("This case has already been handled by someone else; please refresh."))


def refuse_integrity(error: IntegrityError) -> WrongState:
    return WrongState(_("The change conflicts with another one made at the same time; try again."))


def was_routed_to(case: Case, department: Department) -> bool:
    """Whether the case is or ever was with this department (its routing history, the same rule
    that lets a department still see it)."""
    return (
        department.pk == case.department_id
        or CaseAssignment.objects.filter(case_id=case.pk, department_id=department.pk).exists()
    )


def require_actor(by, case: Case, *, office: bool) -> None:
    """The role half of every action's check: the case's office (county or city), or the
    department the case is assigned to. The views and the API ask it first, for a 403 before
    any state check; the services ask it again under the row lock.

    A department the case was routed to before and has since left (returned, rerouted) was the
    right actor when it loaded the case: it lost a race or holds a stale page, and hears 409
    "handled by someone else", not 403 — 403 is for a user who never was the right actor."""
    if office:
        require_office(by, case.region)
        return
    department = department_of(by)
    if department is not None and department.pk == case.department_id:
        return
    if department is not None and was_routed_to(case, department):
        raise moved_on()
    raise NotAllowed(_("Only the department this case is assigned to may do this."))


def require_office(by, region: Region) -> None:
    if not acts_for_region(by, region):
        raise NotAllowed(_("Only the county office of this region or the city office may do this."))


def state_refusal(case: Case) -> WrongState:
    """Why the locked case's state refuses the action: the case moved on since the caller loaded
    it (a lost race: 409 "handled by someone else") or it was never in a state that allows it."""
    seen = getattr(case, "seen_as", None)
    if seen is not None and seen != (case.state, case.department_id):
        return moved_on()
    return wrong_state(case.state)


def assigned_department(case: Case) -> Department:
    """The department a case being handled or closed is with. Every such case has one (assign
    sets it, only return clears it); one without is refused as being in the wrong state."""
    if case.department is None:
        raise state_refusal(case)
    return case.department


def due_date_of(case: Case) -> dt.date:
    """The due date of a case an action requires one of (an extension is asked for on or before
    it, ``cases.actions``); one without is refused as being in the wrong state."""
    if case.due_date is None:
        raise state_refusal(case)
    return case.due_date


def assigned_department_id(case: Case) -> int:
    """``assigned_department``'s key, without loading the department."""
    if case.department_id is None:
        raise state_refusal(case)
    return case.department_id


def require_assigned_department(by, case: Case, states: tuple[str, ...]) -> None:
    """The department the case is assigned to, while the case is in one of ``states``."""
    department = department_of(by)
    if case.state in states and department is not None and department.pk == case.department_id:
        return
    # A department acting on a case that was just closed, returned or rerouted (a lost race, or a
    # stale page) is told the case moved on, not that it lacks the right.
    if department is not None and was_routed_to(case, department):
        raise moved_on()
    if case.state not in states:
        raise state_refusal(case)
    raise NotAllowed(_("Only the department this case is assigned to may do this."))
