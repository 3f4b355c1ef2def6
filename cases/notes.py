"""Handling notes (办理记录): something said about a case that changes none of its facts.

A note is a ledger entry like every other change — the same transaction, row lock, scope and
permission checks — with ``action="note"``, the case's state before and after unchanged, and the
text in its payload. The office of the case's region (or the city office) writes them, e.g. when it
reminds the responsible department of a deadline.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger import services as ledger
from ledger.models import LedgerEntry, Source

from .errors import InvalidInput, NotAllowed, NotFound
from .input_rules import text_problem
from .models import Case, local_midnight
from .roles import acts_for_region

NOTE_ACTION = "note"
MAX_NOTE = 2000


def _clean(note: str) -> str:
    note = (note or "").strip()
    if not note:
        raise InvalidInput(_("Write the note."), field="note")
    problem = text_problem(note, multiline=True)
    if problem:
        raise InvalidInput(problem, field="note")
    if len(note) > MAX_NOTE:
        raise InvalidInput(
            _("%(label)s is too long (at most %(n)d characters).") % {"label": _("Note"), "n": MAX_NOTE}, field="note"
        )
    return note


def may_write_note(user, case: Case) -> bool:
    """The office of the case's region or the city office (``cases.actions``: the note's actors)."""
    return acts_for_region(user, case.region)


def add_note(
    case: Case | int,
    *,
    by,
    note: str,
    purpose: str = "note",
    details: dict | None = None,
    source: str = Source.WEB,
    now: dt.datetime | None = None,
) -> LedgerEntry:
    """Append a handling note to the case's ledger; ``purpose`` says why (``"reminder"``, …) and
    ``details`` adds what the note is about (shown on the case's timeline)."""
    now = now or timezone.now()
    note = _clean(note)
    pk = case.pk if isinstance(case, Case) else case
    with transaction.atomic():
        try:
            locked = Case.objects.for_user(by).select_for_update().get(pk=pk)
        except Case.DoesNotExist:
            raise NotFound(_("No such case.")) from None
        if not may_write_note(by, locked):
            raise NotAllowed(
                _(
                    "Only the county office of this region, the city office or the department the case is "
                    "with may write a note on it."
                )
            )
        payload = {**(details or {}), "note": note, "purpose": purpose}
        return ledger.append(
            locked,
            action=NOTE_ACTION,
            actor=by,
            from_state=locked.state,
            to_state=locked.state,
            occurred_at=now,
            source=source,
            payload=payload,
        )


def notes_since(case: Case, *, purpose: str, day: dt.date) -> int:
    """How many notes of this purpose the case's ledger has from the start of ``day`` (local) on."""
    return LedgerEntry.objects.filter(
        case=case, action=NOTE_ACTION, occurred_at__gte=local_midnight(day), payload__purpose=purpose
    ).count()
