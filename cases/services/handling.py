"""Handling by the assigned department: signing for the case (签收), sending it back (退单),
closing it as resolved (解决) or with an explanation (解释答复), adding evidence; and the closing
of a case loaded from an office's old ledger."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger.models import Source

from ..actions import Actor
from ..errors import InvalidInput
from ..models import Case, Evidence, State
from ..uploads import CheckedFile, EvidenceReference, check_uploads, files_removed_on_failure
from ._steps import acting
from .checks import assigned_department, clean_text, require_text


def _write_evidence(
    files: Sequence[CheckedFile | EvidenceReference], by, now: dt.datetime, stored: list[str]
) -> list[Evidence]:
    """Evidence rows not saved yet, their files already written to storage: before the case is
    locked, so no file is written while the transaction holds the row."""
    items = []
    for checked in files:
        if isinstance(checked, EvidenceReference):
            ref = checked.reference.strip()[:200]
            items.append(Evidence(original_name=ref, reference=ref, uploaded_by=by, uploaded_at=now))
            continue
        item = Evidence(
            original_name=checked.name,
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
            uploaded_by=by,
            uploaded_at=now,
        )
        item.file.save(checked.name, checked.upload, save=False)
        if item.file.name:  # the name storage chose, set by save()
            stored.append(item.file.name)
        items.append(item)
    return items


def _store_evidence(case: Case, items: list[Evidence]) -> list[dict]:
    """Save the rows inside the transaction; what the ledger entry records of each."""
    records = []
    for item in items:
        item.case = case
        item.save()
        if item.file:
            records.append({"id": item.pk, "name": item.original_name, "sha256": item.sha256, "size": item.size})
        else:
            records.append({"id": item.pk, "reference": item.reference})
    return records


def acknowledge(case: Case | int, *, by: User, source: str | None = None, now: dt.datetime | None = None) -> Case:
    """The assigned department signs for the case (签收)."""
    now = now or timezone.now()
    with acting("acknowledge", case, by=by, now=now, source=source) as act:
        act.transition(at=now)
        act.record({"department": act.case.department_id})
    return act.case


def return_case(
    case: Case | int,
    *,
    by: User,
    reason: str,
    suggested_department: str = "",
    source: str | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """The department sends a mis-routed case back to the office (退单)."""
    now = now or timezone.now()
    reason = require_text(reason, "reason", _("Reason"))
    suggested_department = clean_text(suggested_department, "suggested_department", multiline=False)[:100]
    with acting("return", case, by=by, now=now, source=source) as act:
        department = assigned_department(act.case)
        act.transition()
        act.record(
            {
                "reason": reason,
                "department": department.pk,
                "department_name": department.name,
                "suggested_department": suggested_department,
            }
        )
    return act.case


def resolve(
    case: Case | int, *, by: User, result: str, evidence, source: str | None = None, now: dt.datetime | None = None
) -> Case:
    """The department reports the problem solved (解决), with its evidence."""
    now = now or timezone.now()
    result = require_text(result, "result", _("Result"))
    files = check_uploads(evidence, required=True)
    with files_removed_on_failure() as stored:
        items = _write_evidence(files, by, now, stored)
        with acting("resolve", case, by=by, now=now, source=source) as act:
            act.transition(result=result, at=now)
            act.record({"result": result, "evidence": _store_evidence(act.case, items)})
    return act.case


def explain(
    case: Case | int,
    *,
    by: User,
    result: str,
    policy_basis: str,
    redirect_to: str,
    evidence,
    source: str | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """The department answers with an explanation (解释答复): not its remit or not within policy."""
    now = now or timezone.now()
    result = require_text(result, "result", _("Explanation"))
    policy_basis = require_text(policy_basis, "policy_basis", _("Policy basis"))
    redirect_to = require_text(redirect_to, "redirect_to", _("Where the enterprise can turn"))
    files = check_uploads(evidence, required=True)
    with files_removed_on_failure() as stored:
        items = _write_evidence(files, by, now, stored)
        with acting("explain", case, by=by, now=now, source=source) as act:
            act.transition(result=result, policy_basis=policy_basis, redirect_to=redirect_to, at=now)
            act.record(
                {
                    "result": result,
                    "policy_basis": policy_basis,
                    "redirect_to": redirect_to,
                    "evidence": _store_evidence(act.case, items),
                }
            )
    return act.case


def add_evidence(
    case: Case | int, *, by: User, evidence, note: str = "", source: str | None = None, now: dt.datetime | None = None
) -> Case:
    """The assigned department adds handling material to an open case (while it has the case)."""
    now = now or timezone.now()
    note = clean_text(note, "note")[:2000]
    files = check_uploads(evidence, required=True)
    with files_removed_on_failure() as stored:
        items = _write_evidence(files, by, now, stored)
        with acting("evidence", case, by=by, now=now, source=source) as act:
            act.record({"note": note, "evidence": _store_evidence(act.case, items)})
    return act.case


def import_closing(
    case,
    *,
    by: User,
    state: str,
    result: str,
    evidence_refs: Sequence[str] = (),
    policy_basis: str = "",
    redirect_to: str = "",
    now: dt.datetime,
) -> Case:
    """Record the closing (resolve or explain) of a case loaded from an office's old ledger.

    Only the import calls this, and its entry is always marked ``source=import``. It differs from
    ``resolve``/``explain`` on purpose: the office that imports is not the department that closed
    the case years ago, and historical ledgers often lack 佐证材料 (or the policy basis of an
    explanation). Refusing such rows would hide exactly the gaps scoresheet item 13 must show, so
    the closing is recorded as it was, with whatever evidence references the file names (maybe
    none), and ``ledger.completeness`` then lists the case as lacking evidence.
    """
    if state not in (State.RESOLVED, State.EXPLAINED):
        raise InvalidInput(_("An imported closing is either resolved or explained."), field="state")
    result = require_text(result, "result", _("Result"))
    references = [EvidenceReference(ref) for ref in evidence_refs if (ref or "").strip()]
    name = "resolve" if state == State.RESOLVED else "explain"
    with acting(name, case, by=by, now=now, source=Source.IMPORT, actor=Actor.OFFICE) as act:
        payload: dict[str, object]
        if name == "resolve":
            act.transition(result=result, at=now)
            payload = {"result": result}
        else:
            policy_basis, redirect_to = (policy_basis or "").strip(), (redirect_to or "").strip()
            act.transition(result=result, policy_basis=policy_basis, redirect_to=redirect_to, at=now)
            payload = {"result": result, "policy_basis": policy_basis, "redirect_to": redirect_to}
        payload["evidence"] = _store_evidence(act.case, _write_evidence(references, by, now, []))
        act.record(payload)
    return act.case
