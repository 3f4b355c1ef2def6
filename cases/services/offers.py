"""What a user may do with a case now (the page's buttons, the API's ``available_actions``), and
why not (the answer a page gives before it calls a service). Both read ``cases.actions``."""

from __future__ import annotations

import datetime as dt

from django.db.models import Max
from django.utils import timezone

from ledger.models import LedgerEntry

from ..actions import ACTIONS, Facts, on_case
from ..errors import CaseError
from ..models import Case, local_date
from .checks import moved_on, require_actor, wrong_state


def available_actions(case: Case, user, *, today: dt.date | None = None) -> list[str]:
    """The actions this user may take on this case in its current state, in the registry's order
    (``today``: the local day, when a list asks for many cases at one moment)."""
    facts = Facts(case, today or local_date(timezone.now()))
    return [action.name for action in on_case() if action.offered(case, user, facts)]


def ledger_version(case: Case) -> int:
    """The case's version as its actors see it: the sequence number of its last ledger entry
    (every change appends one). A page carries it, so a refusal can tell "it changed under you"
    from "you were never allowed"."""
    return LedgerEntry.objects.filter(case_id=case.pk).aggregate(m=Max("seq"))["m"] or 0


def parse_version(value) -> int | None:
    """A version sent back by a page: ASCII digits only, else None (not sent, or junk)."""
    text = str(value or "").strip()
    if not text or len(text) > 9 or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def refusal_for(
    case: Case, user, action: str, *, office: bool | None = None, seen: int | None = None
) -> CaseError | None:
    """Why this user may not take this action on the case now, as a page should answer it; None
    when the action is open to them. ``office``: whose action it is (default: as the registry
    declares it).

    The role comes first: a user who never was the right actor hears 403 (NotAllowed), a
    department the case has left hears 409 (MovedOn). Then, if the case's ledger has grown since
    the actor's page showed version ``seen``, the case moved on under them (409 "handled by someone
    else, refresh"); otherwise the state simply does not allow the action (409)."""
    if action in available_actions(case, user):
        return None
    try:
        require_actor(user, case, office=ACTIONS[action].office if office is None else office)
    except CaseError as refusal:
        return refusal
    if seen is not None and seen != ledger_version(case):
        return moved_on()
    return wrong_state(case.state)
