"""Every change to a case goes through these functions: UI, admin, API and import alike.

Each one opens a transaction, locks the case row, checks the user's permission and the case's
state, runs the django-fsm transition, saves, and appends the ledger entry — all committed
together or not at all.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from ledger import services as ledger
from ledger.models import LedgerEntry, Source

from . import credit_code, signals, statutory, workdays
from .errors import CaseError, InvalidInput, MovedOn, NotAllowed, NotFound, WrongState
from .input_rules import receipt_problem, text_problem
from .models import (
    OPEN_STATES,
    Case,
    CaseAssignment,
    CaseNumberCounter,
    Category,
    Channel,
    Department,
    Enterprise,
    Evidence,
    ExtensionRequest,
    FollowUp,
    Region,
    State,
    local_date,
    state_label,
)
from .roles import Role, acts_for_region, department_of, is_office, role_of
from .uploads import CheckedFile, EvidenceReference, check_uploads, files_removed_on_failure

# -- helpers ---------------------------------------------------------------------------------


def _require_text(value: str | None, field: str, label: str, *, max_length: int = 5000, multiline: bool = True) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(_("%(label)s is required.") % {"label": label}, field=field)
    problem = text_problem(value, multiline=multiline)
    if problem:
        raise InvalidInput(problem, field=field)
    if len(value) > max_length:
        raise InvalidInput(_("%(label)s is too long (at most %(n)d characters).") % {"label": label, "n": max_length}, field=field)
    return value


def _clean_text(value: str | None, field: str, *, multiline: bool = True) -> str:
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


def was_routed_to(case: Case, department: Department) -> bool:
    """Whether the case is or ever was with this department (its routing history, the same rule
    that lets a department still see it)."""
    return department.pk == case.department_id or CaseAssignment.objects.filter(
        case_id=case.pk, department_id=department.pk).exists()


def require_actor(by, case: Case, *, office: bool) -> None:
    """The role half of every action's check: the case's office (county or city), or the
    department the case is assigned to. The views and the API ask it first, for a 403 before
    any state check; the services ask it again under the row lock.

    A department the case was routed to before and has since left (returned, rerouted) was the
    right actor when it loaded the case: it lost a race or holds a stale page, and hears 409
    "handled by someone else", not 403 — 403 is for a user who never was the right actor."""
    if office:
        _require_office(by, case.region)
        return
    department = department_of(by)
    if department is not None and department.pk == case.department_id:
        return
    if department is not None and was_routed_to(case, department):
        raise moved_on()
    raise NotAllowed(_("Only the department this case is assigned to may do this."))


def _require_office(by, region: Region) -> None:
    if not acts_for_region(by, region):
        raise NotAllowed(_("Only the county office of this region or the city office may do this."))


def _state_refusal(case: Case) -> WrongState:
    """Why the locked case's state refuses the action: the case moved on since the caller loaded
    it (a lost race: 409 "handled by someone else") or it was never in a state that allows it."""
    seen = getattr(case, "seen_as", None)
    if seen is not None and seen != (case.state, case.department_id):
        return moved_on()
    return wrong_state(case.state)


def _require_assigned_department(by, case: Case) -> None:
    department = department_of(by)
    if case.state == State.ASSIGNED and department is not None and department.pk == case.department_id:
        return
    # A department acting on a case that was just closed, returned or rerouted (a lost race, or a
    # stale page) is told the case moved on, not that it lacks the right.
    if department is not None and was_routed_to(case, department):
        raise moved_on()
    if case.state != State.ASSIGNED:
        raise _state_refusal(case)
    raise NotAllowed(_("Only the department this case is assigned to may do this."))


@contextmanager
def _locked(case: Case | int, by, *, system: bool = False):
    """Open the transaction and hand over a fresh, locked copy of the case within the user's scope
    (any case, for the system's own actions: sweeps, calendar changes)."""
    pk = case.pk if isinstance(case, Case) else case
    cases = Case.objects.all() if system else Case.objects.for_user(by)
    with transaction.atomic():
        try:
            locked = cases.select_for_update().get(pk=pk)
        except Case.DoesNotExist:
            raise NotFound(_("No such case.")) from None
        if isinstance(case, Case):
            # What the caller saw when it loaded the case, to tell a lost race from a wrong state.
            locked.seen_as = (case.state, case.department_id)
        yield locked


def _run(case: Case, action: Callable, **kwargs) -> None:
    """Run a django-fsm transition and save, turning its refusals into our errors."""
    try:
        action(**kwargs)
        case.save()
    except TransitionNotAllowed:
        raise _state_refusal(case) from None
    except ConcurrentTransition:
        raise moved_on() from None


def _write_evidence(files: Sequence[CheckedFile | EvidenceReference], by, now: dt.datetime,
                    stored: list[str]) -> list[Evidence]:
    """Evidence rows not saved yet, their files already written to storage: before the case is
    locked, so no file is written while the transaction holds the row."""
    items = []
    for checked in files:
        if isinstance(checked, EvidenceReference):
            ref = checked.reference.strip()[:200]
            items.append(Evidence(original_name=ref, reference=ref, uploaded_by=by, uploaded_at=now))
            continue
        item = Evidence(original_name=checked.name, content_type=checked.content_type, size=checked.size,
                        sha256=checked.sha256, uploaded_by=by, uploaded_at=now)
        item.file.save(checked.name, checked.upload, save=False)
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


def _source(source: str | None) -> str:
    return source or Source.WEB


# -- create ----------------------------------------------------------------------------------


def next_serial(region: Region, year: int) -> int:
    """Take the next serial of the region's year from its counter (the caller holds the region's
    row lock, in the transaction that creates the case). The highest serial on record is the
    backstop for cases written around the services (a bulk load), so the counter never lags."""
    counter, _created = CaseNumberCounter.objects.select_for_update().get_or_create(region=region, year=year)
    highest = Case.objects.filter(region=region, year=year).aggregate(m=Max("serial"))["m"] or 0
    counter.last_serial = max(counter.last_serial, highest) + 1
    counter.save(update_fields=["last_serial"])
    return counter.last_serial



def create_case(
    *,
    by,
    region: Region,
    enterprise_name: str,
    credit_code_value: str,
    enterprise_size: str | None = None,
    category: Category,
    channel: Channel,
    description: str,
    contact_name: str = "",
    contact_phone: str = "",
    received_at: dt.datetime | None = None,
    ref: str | None = None,
    due_date: dt.date | None = None,
    source: str | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Log a new enterprise problem (受理) and give it the next number of its region and year.

    ``enterprise_size`` None: an enterprise already on record keeps its size class; a new one is
    recorded as "other"."""
    now = now or timezone.now()
    if not is_office(by):
        raise NotAllowed(_("Only a county office or the city office may log a case."))
    _require_office(by, region)
    if region.is_city and role_of(by) != Role.CITY_OFFICE:
        raise NotAllowed(_("Only the city office may log a case for the city."))
    name = _require_text(enterprise_name, "enterprise_name", _("Enterprise name"), max_length=200, multiline=False)
    code = credit_code.normalize(credit_code_value)
    problem = credit_code.problem(code)
    if problem:
        raise InvalidInput(problem, field="credit_code")
    if enterprise_size is not None and enterprise_size not in Enterprise.Size.values:
        raise InvalidInput(_("Unknown enterprise size class."), field="enterprise_size")
    if category is None:
        raise InvalidInput(_("Category is required."), field="category")
    if channel is None:
        raise InvalidInput(_("Channel is required."), field="channel")
    description = _require_text(description, "description", _("Problem description"))
    received_at = received_at or now
    if timezone.is_naive(received_at):
        raise InvalidInput(_("The time of receipt must carry a time zone."), field="received_at")
    problem = receipt_problem(received_at, now=now)
    if problem:
        raise InvalidInput(problem, field="received_at")
    ref = (ref or "").strip() or None
    for field, value in (("ref", ref), ("contact_name", contact_name), ("contact_phone", contact_phone)):
        problem = text_problem(value)
        if problem:
            raise InvalidInput(problem, field=field)
    year = timezone.localtime(received_at).year
    days = category.deadline_for(complex=False)
    # An imported ledger may carry its own 办理时限; otherwise the category's policy decides.
    due = workdays.Due(due_date, False, "given") if due_date else workdays.due_date_for(received_at, days)

    with transaction.atomic():
        # Lock the region row so two intakes in one region cannot take the same serial.
        Region.objects.select_for_update().get(pk=region.pk)
        if ref and Case.objects.filter(region=region, ref=ref).exists():
            raise InvalidInput(_("A case with reference %(ref)s already exists in this region.") % {"ref": ref}, field="ref")
        enterprise, created = Enterprise.objects.get_or_create(
            credit_code=code, defaults={"name": name, "size": enterprise_size or Enterprise.Size.OTHER}
        )
        size = enterprise_size or enterprise.size
        if not created and (enterprise.name != name or enterprise.size != size):
            enterprise.name, enterprise.size = name, size
            enterprise.save(update_fields=["name", "size"])
        serial = next_serial(region, year)
        case = Case.objects.create(
            region=region,
            year=year,
            serial=serial,
            number=f"{region.code}-{year}-{serial:05d}",
            ref=ref,
            enterprise=enterprise,
            contact_name=(contact_name or "").strip()[:50],
            contact_phone=(contact_phone or "").strip()[:30],
            category=category,
            channel=channel,
            description=description,
            received_at=received_at,
            due_date=due.date,
            due_date_provisional=due.provisional,
            calendar_version=due.calendar_version,
            created_by=by,
            created_at=now,
        )
        ledger.append(
            case,
            action="create",
            actor=by,
            to_state=State.RECEIVED,
            occurred_at=now,
            source=_source(source),
            due_date=due.date,
            payload={
                "enterprise": name,
                "credit_code": code,
                "size": enterprise_size,
                "category": category.code,
                "channel": channel.code,
                "description": description,
                "contact_name": case.contact_name,
                "contact_phone": case.contact_phone,
                "received_at": received_at.isoformat(),
                "deadline_days": days,
                "ref": ref,
            },
        )
    return case


# -- routing ---------------------------------------------------------------------------------


def _check_department(case: Case, department: Department | None) -> Department:
    if department is None:
        raise InvalidInput(_("Choose the department responsible."), field="department")
    if not department.active:
        raise InvalidInput(_("This department is no longer active."), field="department")
    if not department.serves(case.region):
        raise InvalidInput(_("The department must belong to the case's region or to the city."), field="department")
    return department


def _route(
    case: Case | int, *, by, department: Department, complex: bool | None, action: str, source: str | None,
    now: dt.datetime | None, due_date: dt.date | None = None,
) -> Case:
    now = now or timezone.now()
    with _locked(case, by) as case:
        _require_office(by, case.region)
        department = _check_department(case, department)
        if action == "reassign" and department.pk == case.department_id:
            raise InvalidInput(_("The case is already with this department."), field="department")
        before = case.state
        complex_flag = case.complex if complex is None else bool(complex)
        case.complex = complex_flag
        if due_date is not None:
            due = workdays.Due(due_date, False, "given")
        else:
            due = workdays.due_date_for(case.received_at, case.category.deadline_for(complex=complex_flag))
        due_changed = due.date != case.due_date
        if due_changed:
            case.due_date, case.due_date_provisional, case.calendar_version = due.date, due.provisional, due.calendar_version
            # Keep an approved extension on top of the new base date (a given date is final).
            if due_date is None and case.extension_days:
                extended = workdays.add_working_days(due.date, case.extension_days)
                case.due_date, case.due_date_provisional = extended.date, due.provisional or extended.provisional
        _run(case, getattr(case, action), department=department, at=now)
        CaseAssignment.objects.create(case=case, department=department, assigned_at=now)
        department_id = department.pk
        _after_commit_notify(
            lambda: department_users(department_id), kind="assigned", case=case,
            message=_("Case %(number)s (%(enterprise)s) has been routed to your department; due %(due)s.")
            % {"number": case.number, "enterprise": case.enterprise.name, "due": case.due_date},
        )
        ledger.append(
            case,
            action=action,
            actor=by,
            from_state=before,
            to_state=case.state,
            occurred_at=now,
            source=_source(source),
            due_date=case.due_date if due_changed else None,
            payload={"department": department.pk, "department_name": department.name, "complex": complex_flag},
        )
    return case


def assign(
    case, *, by, department: Department, complex: bool = False, due_date: dt.date | None = None,
    source: str | None = None, now=None,
) -> Case:
    """Route a received case to the responsible department (交办).

    ``due_date`` is only for imported history that carries its own 办理时限."""
    return _route(case, by=by, department=department, complex=complex, action="assign", source=source, now=now,
                  due_date=due_date)


def reassign(case, *, by, department: Department, complex: bool | None = None, source: str | None = None, now=None) -> Case:
    """Route an assigned case to another department."""
    return _route(case, by=by, department=department, complex=complex, action="reassign", source=source, now=now)


# -- department actions ----------------------------------------------------------------------


def acknowledge(case, *, by, source: str | None = None, now=None) -> Case:
    """The assigned department signs for the case (签收)."""
    now = now or timezone.now()
    with _locked(case, by) as case:
        _require_assigned_department(by, case)
        if case.acknowledged_at is not None:
            raise WrongState(_("The case has already been acknowledged."))
        _run(case, case.acknowledge, at=now)
        ledger.append(case, action="acknowledge", actor=by, from_state=State.ASSIGNED, to_state=State.ASSIGNED,
                      occurred_at=now, source=_source(source), payload={"department": case.department_id})
    return case


def return_case(case, *, by, reason: str, suggested_department: str = "", source: str | None = None, now=None) -> Case:
    """The department sends a mis-routed case back to the office (退单)."""
    now = now or timezone.now()
    reason = _require_text(reason, "reason", _("Reason"))
    suggested_department = _clean_text(suggested_department, "suggested_department", multiline=False)[:100]
    with _locked(case, by) as case:
        _require_assigned_department(by, case)
        department = case.department
        _run(case, case.return_to_office)
        region = case.region
        _after_commit_notify(
            lambda: office_users(region), kind="returned", case=case,
            message=_("Case %(number)s was returned by %(department)s: %(reason)s")
            % {"number": case.number, "department": department.name, "reason": reason},
        )
        ledger.append(
            case, action="return", actor=by, from_state=State.ASSIGNED, to_state=State.RECEIVED, occurred_at=now,
            source=_source(source),
            payload={"reason": reason, "department": department.pk, "department_name": department.name,
                     "suggested_department": suggested_department},
        )
    return case


def resolve(case, *, by, result: str, evidence, source: str | None = None, now=None) -> Case:
    """The department reports the problem solved (解决), with its evidence."""
    now = now or timezone.now()
    result = _require_text(result, "result", _("Result"))
    files = check_uploads(evidence, required=True)
    with files_removed_on_failure() as stored:
        items = _write_evidence(files, by, now, stored)
        with _locked(case, by) as case:
            _require_assigned_department(by, case)
            _run(case, case.resolve, result=result, at=now)
            records = _store_evidence(case, items)
            ledger.append(case, action="resolve", actor=by, from_state=State.ASSIGNED, to_state=State.RESOLVED,
                          occurred_at=now, source=_source(source), payload={"result": result, "evidence": records})
    return case


def explain(case, *, by, result: str, policy_basis: str, redirect_to: str, evidence, source: str | None = None, now=None) -> Case:
    """The department answers with an explanation (解释答复): not its remit or not within policy."""
    now = now or timezone.now()
    result = _require_text(result, "result", _("Explanation"))
    policy_basis = _require_text(policy_basis, "policy_basis", _("Policy basis"))
    redirect_to = _require_text(redirect_to, "redirect_to", _("Where the enterprise can turn"))
    files = check_uploads(evidence, required=True)
    with files_removed_on_failure() as stored:
        items = _write_evidence(files, by, now, stored)
        with _locked(case, by) as case:
            _require_assigned_department(by, case)
            _run(case, case.explain, result=result, policy_basis=policy_basis, redirect_to=redirect_to, at=now)
            records = _store_evidence(case, items)
            ledger.append(
                case, action="explain", actor=by, from_state=State.ASSIGNED, to_state=State.EXPLAINED,
                occurred_at=now, source=_source(source),
                payload={"result": result, "policy_basis": policy_basis, "redirect_to": redirect_to, "evidence": records},
            )
    return case


def add_evidence(case, *, by, evidence, note: str = "", source: str | None = None, now=None) -> Case:
    """The assigned department adds handling material to an open case."""
    now = now or timezone.now()
    note = _clean_text(note, "note")[:2000]
    files = check_uploads(evidence, required=True)
    with files_removed_on_failure() as stored:
        items = _write_evidence(files, by, now, stored)
        with _locked(case, by) as case:
            _require_assigned_department(by, case)  # also: only while the case is with the department
            records = _store_evidence(case, items)
            ledger.append(case, action="evidence", actor=by, from_state=case.state, to_state=case.state,
                          occurred_at=now, source=_source(source),
                          payload={"note": note, "evidence": records})
    return case


# -- office actions after closing ------------------------------------------------------------


def reopen(case, *, by, reason: str, source: str | None = None, now=None) -> Case:
    """Send a closed case back to its department (重办), e.g. the enterprise is not satisfied."""
    now = now or timezone.now()
    reason = _require_text(reason, "reason", _("Reason"))
    with _locked(case, by) as case:
        _require_office(by, case.region)
        before = case.state
        _run(case, case.reopen)
        CaseAssignment.objects.create(case=case, department_id=case.department_id, assigned_at=now)
        ledger.append(case, action="reopen", actor=by, from_state=before, to_state=State.ASSIGNED, occurred_at=now,
                      source=_source(source), payload={"reason": reason, "department": case.department_id})
    return case


def record_follow_up(case, *, by, satisfaction: str, note: str = "", source: str | None = None, now=None) -> Case:
    """Record the enterprise's response after closing (回访)."""
    now = now or timezone.now()
    if satisfaction not in Case.Satisfaction.values:
        raise InvalidInput(_("Choose satisfied, basically satisfied or dissatisfied."), field="satisfaction")
    note = _clean_text(note, "note")[:2000]
    with _locked(case, by) as case:
        _require_office(by, case.region)
        if case.is_open:
            raise WrongState(_("A follow-up is recorded after the case is resolved or explained."))
        case.satisfaction = satisfaction
        case.save(update_fields=["satisfaction", "updated_at"])
        FollowUp.objects.create(case=case, satisfaction=satisfaction, note=note, recorded_by=by, recorded_at=now)
        ledger.append(case, action="follow_up", actor=by, from_state=case.state, to_state=case.state, occurred_at=now,
                      source=_source(source), payload={"satisfaction": satisfaction, "note": note})
    return case


# -- what a user may do now (for buttons and the API) ----------------------------------------


def available_actions(case: Case, user) -> list[str]:
    """The actions this user may take on this case in its current state."""
    role = role_of(user)
    actions: list[str] = []
    office = role in (Role.CITY_OFFICE, Role.COUNTY_OFFICE) and acts_for_region(user, case.region)
    department = department_of(user)
    mine = department is not None and department.pk == case.department_id
    if office:
        if case.state == State.RECEIVED:
            actions.append("assign")
        if case.state == State.ASSIGNED:
            actions.append("reassign")
        if case.state in (State.RESOLVED, State.EXPLAINED):
            actions += ["reopen", "follow_up"]
    if mine and case.state == State.ASSIGNED:
        if case.acknowledged_at is None:
            actions.append("acknowledge")
        actions += ["resolve", "explain", "return", "evidence"]
    if (office or mine) and case.state == State.ASSIGNED:
        pending = getattr(case, "has_pending_extension", None)
        if pending is None:
            pending = pending_extension(case) is not None
        if office and pending:
            actions += ["approve_extension", "reject_extension"]
        if mine and not pending and _extension_still_possible(case, local_date(timezone.now())):
            actions.append("request_extension")
    return actions


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


def refusal_for(case: Case, user, action: str, *, office: bool, seen: int | None = None) -> CaseError | None:
    """Why this user may not take this action on the case now, as a page should answer it; None
    when the action is open to them.

    The role comes first: a user who never was the right actor hears 403 (NotAllowed), a
    department the case has left hears 409 (MovedOn). Then, if the case's ledger has grown since
    the actor's page showed version ``seen``, the case moved on under them (409 "handled by someone
    else, refresh"); otherwise the state simply does not allow the action (409)."""
    if action in available_actions(case, user):
        return None
    try:
        require_actor(user, case, office=office)
    except CaseError as refusal:
        return refusal
    if seen is not None and seen != ledger_version(case):
        return moved_on()
    return wrong_state(case.state)


def refuse_integrity(error: IntegrityError) -> WrongState:
    return WrongState(_("The change conflicts with another one made at the same time; try again."))


# -- imported history ------------------------------------------------------------------------


def import_closing(
    case,
    *,
    by,
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
    result = _require_text(result, "result", _("Result"))
    references = [EvidenceReference(ref) for ref in evidence_refs if (ref or "").strip()]
    with _locked(case, by) as case:
        _require_office(by, case.region)
        if state == State.RESOLVED:
            _run(case, case.resolve, result=result, at=now)
            payload = {"result": result}
        else:
            policy_basis, redirect_to = (policy_basis or "").strip(), (redirect_to or "").strip()
            _run(case, case.explain, result=result, policy_basis=policy_basis, redirect_to=redirect_to, at=now)
            payload = {"result": result, "policy_basis": policy_basis, "redirect_to": redirect_to}
        payload["evidence"] = _store_evidence(case, _write_evidence(references, by, now, []))
        ledger.append(case, action="resolve" if state == State.RESOLVED else "explain", actor=by,
                      from_state=State.ASSIGNED, to_state=state, occurred_at=now, source=Source.IMPORT,
                      payload=payload)
    return case


# -- deadlines: extensions (延期), recomputation, supervision (督办) ---------------------------

EXTENSION_MAX_DAYS_DEFAULT = 10


def extension_max_days() -> int:
    from django.conf import settings

    return int(getattr(settings, "EXTENSION_MAX_DAYS", EXTENSION_MAX_DAYS_DEFAULT))


def pending_extension(case: Case, *, lock: bool = False):
    """The request waiting for a decision, or None (no query for a case from a list annotated
    by ``Case.objects.with_pending_extension()`` that has none)."""
    if not lock and getattr(case, "has_pending_extension", None) is False:
        return None
    qs = ExtensionRequest.objects.filter(case=case, status=ExtensionRequest.Status.PENDING)
    if lock:
        qs = qs.select_for_update()
    return qs.first()


def _extension_still_possible(case: Case, today: dt.date) -> bool:
    """An extension is asked for on or before the due date, never after it."""
    return case.due_date is not None and today <= case.due_date


def _after_commit_notify(users_query: Callable, *, kind: str, message: str, case: Case) -> None:
    """Inbox messages about this change, written only once the change is committed."""
    from notifications import services as notifications

    case_pk = case.pk

    def send():
        notifications.notify_many(users_query(), kind=kind, message=message, case_id=case_pk)

    transaction.on_commit(send)


def request_extension(case, *, by, reason: str, days: int, source=None, now=None) -> Case:
    """The assigned department asks for more working days (申请延期), before the due date."""
    now = now or timezone.now()
    reason = _require_text(reason, "reason", _("Reason"))
    limit = extension_max_days()
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise InvalidInput(_("Give the number of working days as a whole number."), field="days") from None
    if days < 1 or days > limit:
        raise InvalidInput(
            _("An extension is between 1 and %(n)d working days.") % {"n": limit}, field="days"
        )
    with _locked(case, by) as case:
        _require_assigned_department(by, case)
        if not _extension_still_possible(case, local_date(now)):
            raise WrongState(_("The due date has passed; an extension must be asked for on or before it."))
        if pending_extension(case, lock=True) is not None:
            raise WrongState(_("An extension request for this case is already waiting for a decision."))
        try:
            with transaction.atomic():
                request = ExtensionRequest.objects.create(
                    case=case, days=days, reason=reason, requested_by=by, requested_at=now,
                    due_date_before=case.due_date,
                )
        except IntegrityError as error:
            raise refuse_integrity(error) from None
        ledger.append(
            case, action="request_extension", actor=by, from_state=case.state, to_state=case.state,
            occurred_at=now, source=_source(source),
            payload={"request": request.pk, "reason": reason, "days": days, "due_date": case.due_date.isoformat()},
        )
        message = _("%(number)s: %(department)s asks for %(days)d more working days (due %(due)s). Reason: %(reason)s") % {
            "number": case.number, "department": case.department.name, "days": days,
            "due": case.due_date.isoformat(), "reason": reason,
        }
        region = case.region
        _after_commit_notify(lambda: office_users(region), kind="extension", message=message, case=case)
    return case


def _decide_extension(case, *, by, approve: bool, note: str, source, now) -> Case:
    now = now or timezone.now()
    note = _clean_text(note, "note")
    if len(note) > 2000:
        raise InvalidInput(_("%(label)s is too long (at most %(n)d characters).") % {"label": _("Note"), "n": 2000}, field="note")
    with _locked(case, by) as case:
        _require_office(by, case.region)
        request = pending_extension(case, lock=True)
        if request is None:
            raise WrongState(_("No extension request is waiting for a decision."))
        if approve and case.state != State.ASSIGNED:
            raise _state_refusal(case)
        before = case.due_date
        payload = {"request": request.pk, "days": request.days, "reason": request.reason, "note": note,
                   "due_date_before": before.isoformat() if before else None}
        if approve:
            # The extension counts from the current due date, on the calendar as it is now.
            extended = workdays.add_working_days(before, request.days)
            case.due_date = extended.date
            case.due_date_provisional = case.due_date_provisional or extended.provisional
            case.calendar_version = _merged_versions(case.calendar_version, extended.calendar_version)
            case.extension_days += request.days
            case.save(update_fields=["due_date", "due_date_provisional", "calendar_version", "extension_days", "updated_at"])
            request.status, request.due_date_after = ExtensionRequest.Status.APPROVED, extended.date
            payload["due_date"] = extended.date.isoformat()
        else:
            request.status = ExtensionRequest.Status.REJECTED
        request.decided_by, request.decided_at, request.decision_note = by, now, note
        request.save(update_fields=["status", "due_date_after", "decided_by", "decided_at", "decision_note"])
        ledger.append(
            case, action="approve_extension" if approve else "reject_extension", actor=by,
            from_state=case.state, to_state=case.state, occurred_at=now, source=_source(source),
            due_date=case.due_date if approve else None, payload=payload,
        )
        if approve:
            message = _("%(number)s: the extension of %(days)d working days is approved; the new due date is %(due)s.") % {
                "number": case.number, "days": request.days, "due": case.due_date.isoformat()}
        else:
            message = _("%(number)s: the extension request is rejected; the due date stays %(due)s.") % {
                "number": case.number, "due": case.due_date.isoformat() if case.due_date else "—"}
        if note:
            message += " " + _("Note: %(note)s") % {"note": note}
        department_id = case.department_id
        _after_commit_notify(lambda: department_users(department_id), kind="extension", message=message, case=case)
    return case


def approve_extension(case, *, by, note: str = "", source=None, now=None) -> Case:
    """The county or city office grants the pending extension: the due date moves."""
    return _decide_extension(case, by=by, approve=True, note=note, source=source, now=now)


def reject_extension(case, *, by, note: str = "", source=None, now=None) -> Case:
    """The county or city office refuses the pending extension: the due date stays."""
    return _decide_extension(case, by=by, approve=False, note=note, source=source, now=now)


def _merged_versions(*labels: str) -> str:
    """Join calendar-version labels (``2025.1+2026.1``), keeping the latest per year."""
    per_year: dict[str, str] = {}
    for label in labels:
        for part in (label or "").split("+"):
            year, dot, _version = part.partition(".")
            if dot and year.isdigit():
                per_year[year] = part
    return "+".join(per_year[y] for y in sorted(per_year))[:64] or (labels[-1] if labels else "")


def set_recomputed_due_date(case_id: int, *, working_days: int, calendar, by=None, reason: str, now=None) -> Case:
    """Recount a case's due date on a changed calendar, with a ledger entry (system action).

    ``working_days`` is the case's whole allowance (policy plus approved extensions) counted
    from the day of receipt; the caller counted it on the calendar the old date came from.
    """
    now = now or timezone.now()
    with _locked(case_id, by, system=True) as case:
        due = calendar.add_working_days(case.received_on, working_days)
        before = (case.due_date, case.due_date_provisional, case.calendar_version)
        case.due_date, case.due_date_provisional, case.calendar_version = due.date, due.provisional, due.calendar_version
        case.save(update_fields=["due_date", "due_date_provisional", "calendar_version", "updated_at"])
        ledger.append(
            case, action="recompute_due", actor=by, from_state=case.state, to_state=case.state,
            occurred_at=now, source=Source.SYSTEM, due_date=due.date,
            payload={
                "reason": reason, "working_days": working_days,
                "due_date_before": before[0].isoformat() if before[0] else None,
                "provisional_before": before[1], "calendar_version_before": before[2],
                "due_date": due.date.isoformat(), "provisional": due.provisional,
                "calendar_version": due.calendar_version,
            },
        )
    return case


def recompute_provisional_due_dates(*, year: int | None = None, by=None, now=None) -> int:
    """Recompute the open cases' provisional due dates that are out of date; returns how many.

    Out of date: a year the date was counted on provisionally has been entered since, or the
    statutory rule in force for it is no longer the one its label names (a change of the law).
    ``cases.workcalendar.enter_year`` does the first as part of entering a year; this function
    catches up on years that reached the database another way (e.g. a data migration) and on
    dates counted before a rule was added. Closed cases keep the date they were closed against.
    """
    now = now or timezone.now()
    calendar = workdays.current_calendar()
    qs = Case.objects.filter(state__in=OPEN_STATES, due_date_provisional=True, due_date__isnull=False)
    if year is not None:
        qs = qs.filter(calendar_version__contains=f"{year}.{workdays.PROVISIONAL}")
    changes = []
    for case in qs.only("pk", "received_at", "due_date", "calendar_version").order_by("pk").iterator(chunk_size=500):
        rules = workdays.provisional_rules_of(case.calendar_version)
        stale = sorted(y for y, rule in rules.items() if calendar.knows(y) or rule != statutory.rule_for(y))
        if not stale:
            continue
        allowance = calendar.working_days_between(case.received_on, case.due_date, provisional=rules)
        if allowance < 1:
            continue
        before = case.due_date
        case = set_recomputed_due_date(
            case.pk, working_days=allowance, calendar=calendar, by=by, now=now,
            reason=_("Provisional due date recounted for %(years)s (calendar entered or holiday rule changed).")
            % {"years": ", ".join(map(str, stale))},
        )
        changes.append(RecomputedDue.of(case, before=before, working_days=allowance))
    announce_recomputed(changes, year=year)
    return len(changes)


@dataclass(frozen=True)
class RecomputedDue:
    """One open case whose due date was (or, in a preview, would be) counted again."""

    case_id: int
    number: str
    region_id: int
    department_id: int | None
    working_days: int
    before: dt.date
    after: dt.date
    provisional: bool

    @classmethod
    def of(cls, case: Case, *, before: dt.date, working_days: int) -> RecomputedDue:
        return cls(case.pk, case.number, case.region_id, case.department_id, working_days, before,
                   case.due_date, case.due_date_provisional)

    @property
    def moved(self) -> bool:
        return self.before != self.after


def announce_recomputed(changes: Sequence[RecomputedDue], *, year: int | None) -> None:
    """Tell the listeners (each affected department's inbox) once the recomputation commits."""
    if changes:
        changes = list(changes)
        transaction.on_commit(lambda: signals.due_dates_recomputed.send(sender=Case, changes=changes, year=year))


def mark_supervised(case, *, by=None, source=None, now=None) -> Case:
    """Mark a case 督办 (supervised): still overdue well past its due date.

    With ``by=None`` it is the deadline sweep acting; an office user may also mark a case of
    its region. Marking twice changes nothing.
    """
    now = now or timezone.now()
    if by is None:
        with _locked(case, None, system=True) as case:
            return _supervise(case, by=None, source=source or Source.SYSTEM, now=now)
    with _locked(case, by) as case:
        _require_office(by, case.region)
        return _supervise(case, by=by, source=_source(source), now=now)


def _supervise(case: Case, *, by, source: str, now: dt.datetime) -> Case:
    if case.supervised:
        return case
    if not case.is_open:
        raise _state_refusal(case)
    case.supervised = True
    case.save(update_fields=["supervised", "updated_at"])
    ledger.append(
        case, action="supervise", actor=by, from_state=case.state, to_state=case.state, occurred_at=now,
        source=source, payload={"due_date": case.due_date.isoformat() if case.due_date else None,
                                "days_overdue": case.days_overdue(local_date(now))},
    )
    return case


def office_users(region: Region):
    """Active staff of the county office of a region (the city office for a city case)."""
    from django.contrib.auth import get_user_model

    role = Role.CITY_OFFICE if region.is_city else Role.COUNTY_OFFICE
    users = get_user_model().objects.filter(is_active=True, profile__role=role)
    return users if region.is_city else users.filter(profile__region=region)


def department_users(department_id: int | None):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(
        is_active=True, profile__role=Role.DEPARTMENT, profile__department_id=department_id
    )


def city_office_users():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(is_active=True, profile__role=Role.CITY_OFFICE)
