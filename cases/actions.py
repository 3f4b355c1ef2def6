"""Every action on a case, declared once: its name, what the ledger calls it, who may take it,
from which states, what it requires, and what its ledger entry records.

Read by:

* the FSM transitions (``cases.models.Case``: ``source``, ``target``, ``permission``,
  ``conditions`` and ``custom`` come from here through ``fsm``);
* the services (``cases.services``: the role, requirement and state checks under the row lock,
  ``available_actions`` and ``refusal_for``, and the ledger entry's action name);
* the case page (``cases.views``: its buttons, forms and messages; ``cases.urls``: one URL each);
* the API (``cases.api``: one route per action, its body and its summary);
* the timeline (``label_of``: what a ledger entry is called on the case page).

Adding an action is one ``Action`` here plus its service function in ``cases.services`` (and,
when it takes input nobody else takes, its form and serializer). The tests in
``tests/cases/test_action_registry.py`` hold the other places to this list.

Why here and not in ``ledger``: the ledger is the bottom layer and records whatever action name
it is given; it knows nothing of roles, states or buttons. What it must know to replay a chain
into its facts (which names close a case, which route it) it keeps as its own short lists in
``ledger.heads``, and a test checks those lists against this registry.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .roles import acts_for_region, department_of, is_office
from .states import CLOSED_STATES, OPEN_STATES, State

if TYPE_CHECKING:
    from .models import Case

ANY_STATE = tuple(State)


class Actor(enum.Enum):
    OFFICE = "office"  # the county office of the case's region, or the city office
    DEPARTMENT = "department"  # the department the case is assigned to, while it is assigned
    SYSTEM = "system"  # the system's own work: the deadline sweep, recounts on a new calendar


class Page(enum.Enum):
    """Where the case page offers an action."""

    FORM = "form"  # a form in the action grid, served by ``cases.views.case_action``
    EXTENSION = "extension"  # the extension card (``cases/_extension_actions.html``, ``views_extensions``)


@dataclass
class Facts:
    """What the requirements read of one case at one moment. The pending-extension query runs at
    most once; a list annotated by ``Case.objects.with_pending_extension()`` runs none (unless
    ``lock``: the services read it again under the row lock)."""

    case: Case
    today: dt.date
    lock: bool = False

    @cached_property
    def pending_request(self):
        """The extension request waiting for a decision, or None."""
        requests = self.case.extension_requests.filter(status="pending")
        return (requests.select_for_update() if self.lock else requests).first()

    @cached_property
    def has_pending_extension(self) -> bool:
        annotated = getattr(self.case, "has_pending_extension", None)
        if annotated is not None and not self.lock:
            return annotated
        return self.pending_request is not None


@dataclass(frozen=True)
class Requirement:
    """A condition beyond the state; ``refusal`` is what the actor hears (409) when it fails."""

    holds: Callable[[Facts], bool]
    refusal: Promise


NOT_ACKNOWLEDGED = Requirement(
    lambda facts: facts.case.acknowledged_at is None, _("The case has already been acknowledged.")
)
# An extension is asked for on or before the due date, never after it.
BEFORE_DUE = Requirement(
    lambda facts: facts.case.due_date is not None and facts.today <= facts.case.due_date,
    _("The due date has passed; an extension must be asked for on or before it."),
)
NO_PENDING_EXTENSION = Requirement(
    lambda facts: not facts.has_pending_extension,
    _("An extension request for this case is already waiting for a decision."),
)
PENDING_EXTENSION = Requirement(
    lambda facts: facts.has_pending_extension, _("No extension request is waiting for a decision.")
)


@dataclass(frozen=True)
class Action:
    name: str  # the ledger entry's action, the URL name and the API route
    label: Promise  # what the timeline calls its ledger entry
    actors: tuple[Actor, ...]
    from_states: tuple[str, ...]
    service: str  # the function in cases.services that takes it
    records: tuple[str, ...]  # the keys of its ledger entry's payload
    to_state: str | None = None  # None: the state stays
    transition: str = ""  # the Case method (django-fsm transition) that moves the state
    requires: tuple[Requirement, ...] = ()
    # Where the page offers it when that is narrower than where the service accepts it.
    offered_in: tuple[str, ...] | None = None
    state_refusal: Promise | None = None  # said instead of the generic "not possible while …"
    routes: bool = False  # afterwards the case is with the department its payload names
    # The case page and the API (both empty: not an action a user takes on a case's page).
    page: Page | None = None
    button: Promise | None = None
    done: Promise | None = None
    secondary: bool = False  # a secondary button on the page
    form: str = ""  # the form class in cases.forms (or cases.views_extensions for the extension card)
    body: str = ""  # the API's serializer in cases.serializers; "" for no body
    files: bool = False  # the API body is multipart (evidence files)
    summary: str = ""  # the API operation's summary
    custom: dict[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        """The action's URL path segment (/cases/<pk>/request-extension/)."""
        return self.name.replace("_", "-")

    @property
    def office(self) -> bool:
        """Taken by an office (else by the assigned department)."""
        return Actor.OFFICE in self.actors

    @property
    def on_case(self) -> bool:
        """Offered on the case page and the API."""
        return self.page is not None

    def may(self, case: Case, user) -> bool:
        """The role half: this user is one who takes this action on this case."""
        if user is None:
            return Actor.SYSTEM in self.actors
        # The role first: reading ``case.region`` may cost a query a department's check does not need.
        if Actor.OFFICE in self.actors and is_office(user) and acts_for_region(user, case.region):
            return True
        if Actor.DEPARTMENT in self.actors:
            department = department_of(user)
            return department is not None and department.pk == case.department_id
        return False

    def unmet(self, facts: Facts) -> Requirement | None:
        """The first requirement the case does not meet now, or None."""
        return next((r for r in self.requires if not r.holds(facts)), None)

    def offered(self, case: Case, user, facts: Facts) -> bool:
        """Whether the page and the API offer this action to this user now."""
        states = self.from_states if self.offered_in is None else self.offered_in
        return self.on_case and case.state in states and self.may(case, user) and self.unmet(facts) is None


def _condition(requirement: Requirement) -> Callable[[Case], bool]:
    def holds(case: Case) -> bool:
        return requirement.holds(Facts(case, timezone.localdate()))

    return holds


def fsm(name: str) -> dict:
    """The arguments of the django-fsm ``transition`` decorator for this action."""
    action = ACTIONS[name]
    return {
        "source": list(action.from_states),
        "target": action.to_state,
        "permission": action.may,
        "conditions": [_condition(r) for r in action.requires],
        "custom": {"action": action.name, "label": action.label, **action.custom},
    }


_ACTIONS = (
    # -- the office's --------------------------------------------------------------------------
    Action(
        "create",
        _("Logged on receipt"),  # 受理登记
        actors=(Actor.OFFICE,),
        from_states=(),
        to_state=State.RECEIVED,
        service="create_case",
        records=(
            "enterprise",
            "credit_code",
            "size",
            "category",
            "channel",
            "description",
            "contact_name",
            "contact_phone",
            "received_at",
            "deadline_days",
            "ref",
        ),
    ),
    Action(
        "assign",
        _("Routed"),  # 交办
        actors=(Actor.OFFICE,),
        from_states=(State.RECEIVED,),
        to_state=State.ASSIGNED,
        transition="assign",
        service="assign",
        records=("department", "department_name", "complex"),
        routes=True,
        page=Page.FORM,
        button=_("Route to a department"),
        done=_("Case routed."),
        form="AssignForm",
        body="AssignSerializer",
        summary="Route the case to a department (交办)",
    ),
    Action(
        "reassign",
        _("Rerouted"),  # 改派
        actors=(Actor.OFFICE,),
        from_states=(State.ASSIGNED,),
        to_state=State.ASSIGNED,
        transition="reassign",
        service="reassign",
        records=("department", "department_name", "complex"),
        routes=True,
        page=Page.FORM,
        button=_("Route to another department"),
        done=_("Case rerouted."),
        secondary=True,
        form="AssignForm",
        body="AssignSerializer",
        summary="Route the case to another department",
    ),
    Action(
        "reopen",
        _("Reopened"),  # 重办
        actors=(Actor.OFFICE,),
        from_states=CLOSED_STATES,
        to_state=State.ASSIGNED,
        transition="reopen",
        service="reopen",
        records=("reason", "department"),
        page=Page.FORM,
        button=_("Reopen"),
        done=_("Case reopened."),
        secondary=True,
        form="ReasonForm",
        body="ReasonSerializer",
        summary="Send a closed case back to its department (重办)",
    ),
    Action(
        "follow_up",
        _("Follow-up"),  # 回访
        actors=(Actor.OFFICE,),
        from_states=CLOSED_STATES,
        service="record_follow_up",
        records=("satisfaction", "note"),
        state_refusal=_("A follow-up is recorded after the case is resolved or explained."),
        page=Page.FORM,
        button=_("Record follow-up"),
        done=_("Follow-up recorded."),
        form="FollowUpForm",
        body="FollowUpSerializer",
        summary="Record the enterprise's response (回访)",
    ),
    # -- the assigned department's ---------------------------------------------------------------
    Action(
        "acknowledge",
        _("Acknowledged"),  # 签收
        actors=(Actor.DEPARTMENT,),
        from_states=(State.ASSIGNED,),
        to_state=State.ASSIGNED,
        transition="acknowledge",
        requires=(NOT_ACKNOWLEDGED,),
        service="acknowledge",
        records=("department",),
        page=Page.FORM,
        button=_("Acknowledge receipt"),
        done=_("Case acknowledged."),
        form="EmptyForm",
        summary="Sign for the case (签收)",
    ),
    Action(
        "resolve",
        _("Closed as resolved"),  # 办结（已解决）
        actors=(Actor.DEPARTMENT,),
        from_states=(State.ASSIGNED,),
        to_state=State.RESOLVED,
        transition="resolve",
        service="resolve",
        records=("result", "evidence"),
        page=Page.FORM,
        button=_("Report resolved"),
        done=_("Case reported resolved."),
        form="ResolveForm",
        body="ResolveSerializer",
        files=True,
        summary="Report the problem solved, with evidence",
    ),
    Action(
        "explain",
        _("Closed with an explanation reply"),  # 办结（解释答复）
        actors=(Actor.DEPARTMENT,),
        from_states=(State.ASSIGNED,),
        to_state=State.EXPLAINED,
        transition="explain",
        service="explain",
        records=("result", "policy_basis", "redirect_to", "evidence"),
        page=Page.FORM,
        button=_("Answer with an explanation"),
        done=_("Explanation reply recorded."),
        form="ExplainForm",
        body="ExplainSerializer",
        files=True,
        summary="Answer with an explanation (解释答复), with evidence",
    ),
    Action(
        "return",
        _("Returned"),  # 退单
        actors=(Actor.DEPARTMENT,),
        from_states=(State.ASSIGNED,),
        to_state=State.RECEIVED,
        transition="return_to_office",
        service="return_case",
        records=("reason", "department", "department_name", "suggested_department"),
        page=Page.FORM,
        button=_("Return (wrongly routed)"),
        done=_("Case returned to the office."),
        secondary=True,
        form="ReturnForm",
        body="ReturnSerializer",
        summary="Send the case back to the office (退单)",
    ),
    Action(
        "evidence",
        _("Evidence added"),  # 补充佐证材料
        actors=(Actor.DEPARTMENT,),
        from_states=(State.ASSIGNED,),
        service="add_evidence",
        records=("note", "evidence"),
        page=Page.FORM,
        button=_("Add evidence"),
        done=_("Evidence added."),
        secondary=True,
        form="EvidenceForm",
    ),
    # -- deadlines: extensions (延期) ------------------------------------------------------------
    Action(
        "approve_extension",
        _("Extension approved"),  # 批准延期
        actors=(Actor.OFFICE,),
        from_states=(State.ASSIGNED,),
        requires=(PENDING_EXTENSION,),
        service="approve_extension",
        records=("request", "days", "reason", "note", "due_date_before", "due_date"),
        page=Page.EXTENSION,
        button=_("Approve the extension"),
        done=_("Extension approved; the due date has moved."),
        form="DecisionForm",
        body="ExtensionDecisionSerializer",
        summary="Approve the pending extension request",
    ),
    Action(
        "reject_extension",
        _("Extension rejected"),  # 驳回延期
        # A request left pending when its case closed may still be refused; the page offers the
        # decision while the case is with the department.
        actors=(Actor.OFFICE,),
        from_states=ANY_STATE,
        offered_in=(State.ASSIGNED,),
        requires=(PENDING_EXTENSION,),
        service="reject_extension",
        records=("request", "days", "reason", "note", "due_date_before"),
        page=Page.EXTENSION,
        button=_("Reject the extension"),
        done=_("Extension rejected."),
        form="DecisionForm",
        body="ExtensionDecisionSerializer",
        summary="Reject the pending extension request",
    ),
    Action(
        "request_extension",
        _("Extension requested"),  # 申请延期
        actors=(Actor.DEPARTMENT,),
        from_states=(State.ASSIGNED,),
        requires=(BEFORE_DUE, NO_PENDING_EXTENSION),
        service="request_extension",
        records=("request", "reason", "days", "due_date"),
        page=Page.EXTENSION,
        button=_("Ask for an extension"),
        done=_("Extension requested; the office will decide."),
        form="RequestExtensionForm",
        body="ExtensionRequestSerializer",
        summary="Ask for more working days (延期)",
    ),
    # -- the system's --------------------------------------------------------------------------
    Action(
        "recompute_due",
        _("Due date recomputed"),
        actors=(Actor.SYSTEM,),
        from_states=ANY_STATE,
        service="set_recomputed_due_date",
        records=(
            "reason",
            "working_days",
            "due_date_before",
            "provisional_before",
            "calendar_version_before",
            "due_date",
            "provisional",
            "calendar_version",
        ),
    ),
    Action(
        "note",
        _("Handling note"),  # 办理记录 (cases/notes.py): a reminder to the department, …
        actors=(Actor.OFFICE,),
        from_states=ANY_STATE,
        service="add_note",
        # A reminder (scoring/reminders.py) also names who was reminded, of which due date.
        records=("note", "purpose", "department_name", "due_date", "recipients"),
    ),
    Action(
        "supervise",
        _("Marked as supervised"),  # 督办
        actors=(Actor.SYSTEM, Actor.OFFICE),
        from_states=OPEN_STATES,
        service="mark_supervised",
        records=("due_date", "days_overdue"),
    ),
)

ACTIONS: dict[str, Action] = {action.name: action for action in _ACTIONS}


def on_case() -> Iterator[Action]:
    """The actions a user takes on a case's page and through the API, in the order offered."""
    return (action for action in _ACTIONS if action.on_case)


def on_page(page: Page) -> Iterator[Action]:
    return (action for action in _ACTIONS if action.page is page)


def label_of(name: str) -> str:
    """What the timeline calls a ledger entry of this action (the raw name for one not known)."""
    action = ACTIONS.get(name)
    return str(action.label) if action else name


def closing() -> tuple[str, ...]:
    """The actions after which a case is closed."""
    return tuple(a.name for a in _ACTIONS if a.to_state in CLOSED_STATES)


def routing() -> tuple[str, ...]:
    """The actions after which the case is with the department their payload names."""
    return tuple(a.name for a in _ACTIONS if a.routes)
