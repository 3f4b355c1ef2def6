"""The one sequence of every change to a case: lock, check, transition, save, append.

A service opens ``acting(action, case, by=…)``, which locks a fresh copy of the case within the
user's scope and checks what ``cases.actions`` declares for the action (who may take it, what it
requires, from which states); inside, it reads its input against the locked case, moves it
(``act.transition``, the django-fsm method the registry names), saves, and ``act.record``s the
ledger entry under the action's name. ``record`` also announces the change
(``cases.signals.case_changed``) once the transaction commits. No service writes these steps by
hand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from ledger import services as ledger
from ledger.models import LedgerEntry, Source

from .. import signals
from ..actions import ACTIONS, Action, Actor, Facts
from ..errors import NotFound, WrongState
from ..models import CLOSED_STATES, OPEN_STATES, Case, DepartmentCase, ExtensionRequest, local_date
from .checks import moved_on, require_assigned_department, require_office, state_refusal


def source_or_web(source: str | None) -> str:
    return source or Source.WEB


@contextmanager
def locked(case: Case | int, by: User | None, *, system: bool = False) -> Iterator[Case]:
    """Open the transaction and hand over a fresh, locked copy of the case within the user's scope
    (any case, for the system's own actions: sweeps, calendar changes)."""
    pk = case.pk if isinstance(case, Case) else case
    cases = Case.objects.all() if system else Case.objects.for_user(by)
    with transaction.atomic():
        try:
            fresh = cases.select_for_update().get(pk=pk)
        except Case.DoesNotExist:
            raise NotFound(_("No such case.")) from None
        if isinstance(case, Case):
            # What the caller saw when it loaded the case, to tell a lost race from a wrong state.
            fresh.seen_as = (case.state, case.department_id)
        yield fresh


def run(case: Case, method: Callable, **kwargs) -> None:
    """Run a django-fsm transition and save, turning its refusals into our errors."""
    try:
        method(**kwargs)
        case.save()
    except TransitionNotAllowed:
        raise state_refusal(case) from None
    except ConcurrentTransition:
        raise moved_on() from None


def append(
    case: Case,
    action: Action,
    *,
    by: User | None,
    from_state: str,
    now: dt.datetime,
    source: str,
    payload: dict,
    due_date: dt.date | None = None,
) -> LedgerEntry:
    """Append the action's ledger entry and announce the change once it commits."""
    entry = ledger.append(
        case,
        action=action.name,
        actor=by,
        from_state=from_state,
        to_state=case.state,
        occurred_at=now,
        source=source,
        due_date=due_date,
        payload=payload,
    )
    transaction.on_commit(
        lambda: signals.case_changed.send(
            sender=Case, action=action.name, case=case, actor=by, payload=payload, occurred_at=now
        )
    )
    return entry


class Act:
    """One action being taken on one locked case (see ``acting``)."""

    def __init__(self, action: Action, case: Case, *, by: User | None, now: dt.datetime, source: str):
        self.action, self.case, self.by, self.now, self.source = action, case, by, now, source
        self.before = case.state
        self.facts = Facts(case, local_date(now), lock=True)

    def check(self, actor: Actor | None = None, *, state: bool = True) -> None:
        """Who may, what it requires, and (for an action without a transition, whose django-fsm
        source does not check it) the state. ``actor``: act as this one instead of the action's
        own (the import closes a case for the office)."""
        action = self.action
        if actor is None:
            actor = Actor.SYSTEM if self.by is None else next(a for a in action.actors if a is not Actor.SYSTEM)
        if actor is Actor.OFFICE:
            require_office(self.by, self.case.region)
        elif actor is Actor.DEPARTMENT:
            require_assigned_department(self.by, self.case, action.from_states)
        unmet = action.unmet(self.facts)
        if unmet is not None:
            raise WrongState(unmet.refusal)
        if state and not action.transition:
            self.require_state()

    def require_state(self) -> None:
        if self.case.state not in self.action.from_states:
            if self.action.state_refusal is not None:
                raise WrongState(self.action.state_refusal)
            raise state_refusal(self.case)

    def transition(self, **kwargs) -> None:
        """The django-fsm transition the registry names for this action, and the save. A case that
        leaves its department (returned, rerouted, closed) takes none of that department's
        pending extension requests along: they lapse, so the next department may ask its own and
        the office never approves one department's request on another's deadline."""
        department_before = self.case.department_id
        run(self.case, getattr(self.case, self.action.transition), **kwargs)
        if self.case.state != self.before:
            # The departments' rows of the case carry its state, whether it is open (their work
            # queues, the 台帐's state filter) and its satisfaction (a reopening clears it: the
            # follow-up queue): every change of state is a transition.
            DepartmentCase.objects.filter(case=self.case).update(
                state=self.case.state, open=self.case.state in OPEN_STATES, satisfaction=self.case.satisfaction
            )
        if self.case.department_id != department_before or self.case.state in CLOSED_STATES:
            ExtensionRequest.objects.filter(case=self.case, status=ExtensionRequest.Status.PENDING).update(
                status=ExtensionRequest.Status.REJECTED,
                decided_at=self.now,
                decision_note=_("Lapsed: the case left the department that asked."),
            )

    def save(self, *fields: str) -> None:
        self.case.save(update_fields=[*fields, "updated_at"])
        if "satisfaction" in fields:  # the follow-up: the departments' rows carry it (their follow-up queue)
            DepartmentCase.objects.filter(case=self.case).update(satisfaction=self.case.satisfaction)

    def record(self, payload: dict, *, due_date: dt.date | None = None) -> LedgerEntry:
        return append(
            self.case,
            self.action,
            by=self.by,
            from_state=self.before,
            now=self.now,
            source=self.source,
            payload=payload,
            due_date=due_date,
        )


@contextmanager
def acting(
    name: str,
    case: Case | int,
    *,
    by: User | None,
    now: dt.datetime,
    source: str | None,
    actor: Actor | None = None,
    check_state: bool = True,
) -> Iterator[Act]:
    """Lock the case and check the action on it; the body transitions, saves and records."""
    action = ACTIONS[name]
    system = Actor.SYSTEM in action.actors and (by is None or action.actors == (Actor.SYSTEM,))
    with locked(case, by, system=system) as fresh:
        act = Act(action, fresh, by=by, now=now, source=source_or_web(source))
        if action.actors != (Actor.SYSTEM,):
            act.check(actor, state=check_state)
        yield act
