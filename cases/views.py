"""Thin views of the web UI: fetch within the user's scope, check the form, call the service.

Every change goes through ``cases.services``; these views only map its refusals to pages:
InvalidInput → the form again (400), NotAllowed → 403, NotFound → 404, WrongState → 409.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_tables2 import RequestConfig

from ledger.completeness import LACK_LABELS, lacks
from ledger.services import entries_for

from . import exports, idempotency, services, workcalendar, workdays
from .access import get_case_for_user, get_evidence_for_user
from .errors import CaseError, InvalidInput, MovedOn, NotAllowed, NotFound, WrongState
from .filters import LedgerFilter
from .forms import (
    AssignForm,
    EmptyForm,
    EvidenceForm,
    ExplainForm,
    FollowUpForm,
    IntakeForm,
    ReasonForm,
    ResolveForm,
    ReturnForm,
)
from .models import CLOSED_STATES, OPEN_STATES, Case, CaseAssignment, Category, State, state_label
from .roles import Role, department_of, is_office, role_of
from .search.ui import SearchLedgerTable, jump_target, ledger_search
from .tables import (
    TIMELINESS_LATE,
    TIMELINESS_ON_TIME,
    TIMELINESS_OVERDUE,
    LedgerTable,
    ordering_from,
    timeliness,
)

# -- labels for what the ledger records ------------------------------------------------------

ACTION_LABELS = {
    "create": gettext_lazy("Logged on receipt"),  # 受理登记
    "assign": gettext_lazy("Routed"),  # 交办
    "reassign": gettext_lazy("Rerouted"),  # 改派
    "acknowledge": gettext_lazy("Acknowledged"),  # 签收
    "return": gettext_lazy("Returned"),  # 退单
    "resolve": gettext_lazy("Closed as resolved"),  # 办结（已解决）
    "explain": gettext_lazy("Closed with an explanation reply"),  # 办结（解释答复）
    "evidence": gettext_lazy("Evidence added"),  # 补充佐证材料
    "reopen": gettext_lazy("Reopened"),  # 重办
    "follow_up": gettext_lazy("Follow-up"),  # 回访
    "request_extension": gettext_lazy("Extension requested"),  # 申请延期
    "approve_extension": gettext_lazy("Extension approved"),  # 批准延期
    "reject_extension": gettext_lazy("Extension rejected"),  # 驳回延期
    "recompute_due": gettext_lazy("Due date recomputed"),
    "supervise": gettext_lazy("Marked as supervised"),  # 督办
}

SOURCE_LABELS = {
    "web": gettext_lazy("Web"),
    "api": gettext_lazy("API"),
    "import": gettext_lazy("Import"),
    "system": gettext_lazy("System"),
}

# What ledger.completeness says a case lacks, in words an office reads.
MISSING_LABELS = LACK_LABELS

PAYLOAD_LABELS = [
    ("department_name", gettext_lazy("Department")),
    ("reason", gettext_lazy("Reason")),
    ("suggested_department", gettext_lazy("Suggested department")),
    ("result", gettext_lazy("Result")),
    ("policy_basis", gettext_lazy("Policy basis")),
    ("redirect_to", gettext_lazy("Where to turn")),
    ("days", gettext_lazy("Working days")),
    ("note", gettext_lazy("Note")),
    ("enterprise", gettext_lazy("Enterprise")),
]


def payload_summary(action: str, payload: dict) -> list[tuple[str, str]]:
    """A few (label, text) pairs saying what the entry captured."""
    summary: list[tuple[str, str]] = []
    for key, label in PAYLOAD_LABELS:
        value = payload.get(key)
        if value not in (None, "", []):
            summary.append((str(label), Truncator(str(value)).chars(80)))
    if payload.get("complex"):
        summary.append((_("Complex"), _("Yes")))
    satisfaction = payload.get("satisfaction")
    if satisfaction:
        label = dict(Case.Satisfaction.choices).get(satisfaction, satisfaction)
        summary.append((_("Satisfaction"), str(label)))
    evidence = payload.get("evidence") or []
    if evidence:
        names = ", ".join(str(item.get("name") or item.get("reference") or "") for item in evidence)
        summary.append((_("Evidence"), Truncator(f"{len(evidence)}: {names}").chars(80)))
    return summary


def _today() -> dt.date:
    return timezone.localdate()


# -- dashboard -------------------------------------------------------------------------------

@dataclass
class Section:
    key: str
    title: str
    count: int
    cases: list
    link: str = ""
    css: str = ""


def _section(key, title, queryset, *, link="", css="", size=8) -> Section:
    return Section(key=key, title=title, count=queryset.count(), cases=list(queryset[:size]), link=link, css=css)


@require_GET
@login_required
def dashboard(request):
    user = request.user
    role = role_of(user)
    today = _today()
    soon = workdays.add_working_days(today, 2).date
    scope = Case.objects.for_user(user).select_related("region", "enterprise", "category", "department")
    ledger_url = reverse("cases:ledger")
    sections: list[Section] = []
    open_cases = scope.filter(state__in=OPEN_STATES)
    due_soon = open_cases.filter(due_date__gte=today, due_date__lte=soon).order_by("due_date", "id")
    overdue = scope.overdue(today).order_by("due_date", "id")
    if role in (Role.CITY_OFFICE, Role.COUNTY_OFFICE):
        routed_before = Exists(CaseAssignment.objects.filter(case=OuterRef("pk")))
        received = scope.filter(state=State.RECEIVED).order_by("received_at", "id")
        sections += [
            _section("to_route", _("Received, to be routed"), received.filter(~routed_before),
                     link=f"{ledger_url}?state=received"),
            _section("returned", _("Returned by departments"), received.filter(routed_before), css="warn"),
            _section("overdue", _("Overdue"), overdue, link=f"{ledger_url}?overdue=yes", css="bad"),
            _section("due_soon", _("Due within 2 working days"), due_soon, css="warn"),
            _section("unacknowledged", _("Routed, not yet acknowledged"),
                     scope.filter(state=State.ASSIGNED, acknowledged_at__isnull=True).order_by("assigned_at", "id")),
            _section("follow_up", _("Closed, awaiting follow-up"),
                     scope.filter(state__in=CLOSED_STATES, satisfaction="").order_by("closed_at", "id")),
        ]
    elif role == Role.DEPARTMENT:
        department = department_of(user)
        mine = scope.filter(department=department)
        sections += [
            _section("assigned", _("Assigned to us (unacknowledged first)"),
                     mine.filter(state=State.ASSIGNED).order_by(
                         F("acknowledged_at").asc(nulls_first=True), "due_date", "id"),
                     link=f"{ledger_url}?state=assigned&department={department.pk}"),
            _section("due_soon", _("Due within 2 working days"), due_soon.filter(department=department), css="warn"),
            _section("overdue", _("Overdue"), overdue.filter(department=department),
                     link=f"{ledger_url}?overdue=yes&department={department.pk}", css="bad"),
        ]
    elif role == Role.ASSESSOR:
        sections += [
            _section("overdue", _("Overdue"), overdue, link=f"{ledger_url}?overdue=yes", css="bad"),
        ]
    totals = {}
    if role == Role.ASSESSOR:
        counts = dict(Case.objects.for_user(user).order_by().values_list("state").annotate(n=Count("id")))
        totals = {state_label(state): counts.get(state, 0) for state in State.values}
    # The city office is reminded while a year's official holiday schedule is awaited (1 November on).
    awaited = workcalendar.awaited(today) if role == Role.CITY_OFFICE else None
    from scoring.provisional import provisional_for_user

    return render(request, "cases/dashboard.html", {
        "awaited": awaited,
        "can_enter": role == Role.CITY_OFFICE,
        "provisional": provisional_for_user(user, now=timezone.now()),
        "sections": sections,
        "today": today,
        "soon": soon,
        "role": role,
        "can_log": is_office(user),
        "totals": totals,
    })


# -- intake ----------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@login_required
def intake(request):
    if not is_office(request.user):
        return _refused(request, NotAllowed(_("Only a county office or the city office may log a case.")))
    now = timezone.now()
    form = IntakeForm(request.POST or None, user=request.user, now=now)
    if request.method != "POST":
        return _intake_page(request, form)
    key = idempotency.form_key(request.POST.get("submission"))
    request_hash = idempotency.form_fingerprint(request.POST) if key else ""
    if key:
        try:
            stored = idempotency.stored_case(by=request.user, key=key, request_hash=request_hash)
        except idempotency.KeyReused as reused:
            return _intake_resent_changed(request, now, reused.case)
        if stored is not None:  # a double click, or a resend after a lost answer
            messages.info(request, _("Case %(number)s was already logged from this form; the repeated "
                                     "submission logged nothing new.") % {"number": stored.number})
            return redirect("cases:detail", pk=stored.pk)
    if form.is_valid():
        data = form.cleaned_data

        def create() -> Case:
            with transaction.atomic():  # logged and routed together, or neither
                case = _create()
                if data.get("department"):
                    case = services.assign(case, by=request.user, department=data["department"], now=now)
                return case

        def _create() -> Case:
            return services.create_case(
                by=request.user,
                region=data["region"],
                enterprise_name=data["enterprise_name"],
                credit_code_value=data["credit_code"],
                enterprise_size=data["enterprise_size"],
                category=data["category"],
                channel=data["channel"],
                description=data["description"],
                contact_name=data["contact_name"],
                contact_phone=data["contact_phone"],
                received_at=data["received_at"],
                now=now,
            )

        try:
            if key:
                case, created = idempotency.create_once(by=request.user, key=key, request_hash=request_hash,
                                                        create=create, now=now)
            else:
                case, created = create(), True
        except NotAllowed as error:
            return _refused(request, error)
        except CaseError as error:
            form.add_service_error(error)
        else:
            if created:
                messages.success(request, _("Case %(number)s logged.") % {"number": case.number})
            else:
                messages.info(request, _("Case %(number)s was already logged from this form; the repeated "
                                         "submission logged nothing new.") % {"number": case.number})
            return redirect("cases:detail", pk=case.pk)
    return _intake_page(request, form, status=400)


def _intake_page(request, form, status=200):
    # The due-date preview counts the category's ordinary allowance (a complex case gets more at routing).
    category_days = json.dumps({str(pk): days for pk, days in Category.objects.values_list("pk", "deadline_days")})
    return render(request, "cases/intake.html", {"form": form, "category_days": category_days}, status=status)


def _intake_resent_changed(request, now, logged: Case | None):
    """The form's token already logged a case and the form now says something else (sent again
    after going back and editing): nothing is logged; the form comes back, with a new token, so
    a deliberate second submission logs it as a new case."""
    data = request.POST.copy()
    data["submission"] = idempotency.new_form_token()
    form = IntakeForm(data, user=request.user, now=now)
    form.is_valid()
    form.add_error(None, _("This form was already submitted and logged as case %(number)s. Nothing new was "
                           "logged; submit again to log what the form says now as another case.")
                   % {"number": logged.number if logged else "—"})
    return _intake_page(request, form, status=409)


# -- case detail and actions -----------------------------------------------------------------

@dataclass(frozen=True)
class Action:
    form: type
    call: Callable
    label: str
    done: str
    office: bool  # an office action (else: the assigned department's)
    button_css: str = ""


def _call_assign(case, user, data):
    return services.assign(case, by=user, department=data["department"], complex=data["complex"])


def _call_reassign(case, user, data):
    return services.reassign(case, by=user, department=data["department"], complex=data["complex"])


ACTIONS: dict[str, Action] = {
    "assign": Action(AssignForm, _call_assign, gettext_lazy("Route to a department"),
                     gettext_lazy("Case routed."), office=True),
    "reassign": Action(AssignForm, _call_reassign, gettext_lazy("Route to another department"),
                       gettext_lazy("Case rerouted."), office=True, button_css="btn-secondary"),
    "acknowledge": Action(EmptyForm, lambda case, user, data: services.acknowledge(case, by=user),
                          gettext_lazy("Acknowledge receipt"), gettext_lazy("Case acknowledged."), office=False),
    "resolve": Action(ResolveForm, lambda case, user, data: services.resolve(
        case, by=user, result=data["result"], evidence=data["evidence"]),
        gettext_lazy("Report resolved"), gettext_lazy("Case reported resolved."), office=False),
    "explain": Action(ExplainForm, lambda case, user, data: services.explain(
        case, by=user, result=data["result"], policy_basis=data["policy_basis"], redirect_to=data["redirect_to"],
        evidence=data["evidence"]),
        gettext_lazy("Answer with an explanation"), gettext_lazy("Explanation reply recorded."), office=False),
    "evidence": Action(EvidenceForm, lambda case, user, data: services.add_evidence(
        case, by=user, evidence=data["evidence"], note=data["note"]),
        gettext_lazy("Add evidence"), gettext_lazy("Evidence added."), office=False, button_css="btn-secondary"),
    "return": Action(ReturnForm, lambda case, user, data: services.return_case(
        case, by=user, reason=data["reason"], suggested_department=data["suggested_department"]),
        gettext_lazy("Return (wrongly routed)"), gettext_lazy("Case returned to the office."), office=False,
        button_css="btn-secondary"),
    "reopen": Action(ReasonForm, lambda case, user, data: services.reopen(case, by=user, reason=data["reason"]),
                     gettext_lazy("Reopen"), gettext_lazy("Case reopened."), office=True, button_css="btn-secondary"),
    "follow_up": Action(FollowUpForm, lambda case, user, data: services.record_follow_up(
        case, by=user, satisfaction=data["satisfaction"], note=data["note"]),
        gettext_lazy("Record follow-up"), gettext_lazy("Follow-up recorded."), office=True),
}


def _form_for(name: str, case: Case, data=None, files=None):
    action = ACTIONS[name]
    kwargs = {"case": case} if action.form is AssignForm else {}
    return action.form(data, files, prefix=name, **kwargs)


def _due_badge(case: Case, today: dt.date) -> tuple[str, str]:
    """(text, css) for the due date: 按期/逾期 once closed, 逾期/临期/在期 while open."""
    value = timeliness(case.state, case.due_date, case.closed_at, today)
    if value == TIMELINESS_ON_TIME:
        return _("Closed on time"), "badge-ok"
    if value == TIMELINESS_LATE:
        return _("Closed late"), "badge-bad"
    if value == TIMELINESS_OVERDUE:
        return _("Overdue by %(days)d days") % {"days": case.days_overdue(today)}, "badge-bad"
    if case.is_open and case.due_date and case.due_date <= workdays.add_working_days(today, 2).date:
        return _("Due soon"), "badge-warn"
    if case.is_open and case.due_date:
        return _("Within the time limit"), "badge-ok"
    return "", ""


def _render_detail(request, case: Case, *, bound: dict | None = None, status: int = 200, error: str = ""):
    today = _today()
    available = services.available_actions(case, request.user)
    forms = []
    other_actions = []
    for name in available:
        if name not in ACTIONS:
            other_actions.append(name)  # rendered by cases/_extension_actions.html
            continue
        form = (bound or {}).get(name) or _form_for(name, case)
        forms.append({"name": name, "action": ACTIONS[name], "form": form,
                      "url": reverse(f"cases:{name}", args=[case.pk]), "open": name in (bound or {})})
    chain = list(entries_for(case))
    entries = []
    for entry in chain:
        entries.append({
            "entry": entry,
            "label": ACTION_LABELS.get(entry.action, entry.action),
            "from_label": state_label(entry.from_state) if entry.from_state else "",
            "to_label": state_label(entry.to_state) if entry.to_state else "",
            "source_label": SOURCE_LABELS.get(entry.source, entry.source),
            "summary": payload_summary(entry.action, entry.payload or {}),
        })
    missing = [str(MISSING_LABELS.get(key, key)) for key in lacks(case.number, chain)]
    # The version this page shows; every action form sends it back (see services.refusal_for).
    seen = chain[-1].seq if chain else 0
    badge_text, badge_css = _due_badge(case, today)
    return render(request, "cases/detail.html", {
        "case": case,
        "today": today,
        "badge_text": badge_text,
        "badge_css": badge_css,
        "missing": missing,
        "evidence": case.evidence.select_related("uploaded_by"),
        "follow_ups": case.follow_ups.select_related("recorded_by"),
        "entries": entries,
        "action_forms": forms,
        "other_actions": other_actions,
        "error": error,
        "state_label": state_label(case.state),
        "seen": seen,
    }, status=status)


@require_GET
@login_required
def detail(request, pk: int):
    return _render_detail(request, get_case_for_user(request.user, pk))


def _refused(request, error: CaseError):
    return render(request, "cases/refused.html", {"message": error.message}, status=403)


def _seen(request) -> int | None:
    """The version of the case the actor's page showed (a hidden field of every action form)."""
    return services.parse_version(request.POST.get("seen"))


def _conflict(request, case_pk: int, error: CaseError):
    case = get_case_for_user(request.user, case_pk)
    if isinstance(error, MovedOn):
        message = _("%(reason)s The page now shows the case as it is.") % {"reason": error.message}
    else:
        message = _("The case has been changed by someone else or no longer allows this action: %(reason)s "
                    "The page now shows its current state.") % {"reason": error.message}
    return _render_detail(request, case, status=409, error=message)


@require_POST
@login_required
def case_action(request, pk: int, action: str):
    if action not in ACTIONS:
        raise Http404(_("No such action."))
    case = get_case_for_user(request.user, pk)
    # Role first, then state — so the wrong user hears 403 and a stale page hears 409, whatever
    # they typed. The service checks all of this again under the row lock.
    refusal = services.refusal_for(case, request.user, action, office=ACTIONS[action].office, seen=_seen(request))
    if isinstance(refusal, NotAllowed):
        return _refused(request, refusal)
    if isinstance(refusal, WrongState):
        return _conflict(request, case.pk, refusal)
    form = _form_for(action, case, request.POST, request.FILES)
    if not form.is_valid():
        return _render_detail(request, case, bound={action: form}, status=400,
                              error=_("Please correct the errors below."))
    try:
        ACTIONS[action].call(case, request.user, form.cleaned_data)
    except InvalidInput as error:
        form.add_service_error(error)
        return _render_detail(request, get_case_for_user(request.user, pk), bound={action: form}, status=400,
                              error=error.message)
    except NotAllowed as error:
        return _refused(request, error)
    except NotFound as error:
        raise Http404(error.message) from None
    except WrongState as error:
        return _conflict(request, case.pk, error)
    messages.success(request, str(ACTIONS[action].done))
    return redirect("cases:detail", pk=case.pk)


# -- evidence download -----------------------------------------------------------------------

@require_GET
@login_required
def evidence_download(request, pk: int):
    evidence = get_evidence_for_user(request.user, pk)
    if not evidence.file:
        raise Http404(_("This evidence is a reference only (%(ref)s); there is no file to download.")
                      % {"ref": evidence.reference or evidence.original_name})
    prefix = getattr(settings, "EVIDENCE_X_ACCEL_PREFIX", "")
    if prefix:
        # nginx sends the file from its internal location; Django only decides who may have it.
        response = HttpResponse(content_type=evidence.content_type or "application/octet-stream")
        response["X-Accel-Redirect"] = f"{prefix.rstrip('/')}/{evidence.file.name}"
        response["Content-Disposition"] = content_disposition_header(True, evidence.original_name)
    else:
        try:
            handle = evidence.file.open("rb")
        except FileNotFoundError:
            raise Http404(_("The file is missing from storage.")) from None
        response = FileResponse(handle, as_attachment=True, filename=evidence.original_name,
                                content_type=evidence.content_type or "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# -- the 台帐 list and its exports --------------------------------------------------------------

def _ledger_queryset(request, today: dt.date):
    """The filtered scope: the same for the page and both exports."""
    scope = Case.objects.for_user(request.user)
    filterset = LedgerFilter(request.GET or None, queryset=scope, request=request, today=today)
    # A field that does not validate is left out (and shown with its error on the page).
    return filterset, filterset.qs


@require_GET
@login_required
def ledger(request):
    today = _today()
    filterset, queryset = _ledger_queryset(request, today)
    search = ledger_search(getattr(filterset.form, "cleaned_data", {}).get("q"), queryset)
    if target := jump_target(search, queryset):  # a full case number typed: straight to the case
        return redirect(target)
    queryset = queryset.select_related("enterprise", "category", "department")
    table = SearchLedgerTable(queryset, today=today, words=search.words) if search else LedgerTable(queryset, today=today)
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "cases/ledger.html", {
        "filter": filterset,
        "table": table,
        "export_query": query.urlencode(),
        "search": search,
        "today": today,
        "legend": {"on_time": TIMELINESS_ON_TIME, "late": TIMELINESS_LATE, "overdue": TIMELINESS_OVERDUE},
    })


def _export_queryset(request, today):
    _filterset, queryset = _ledger_queryset(request, today)
    return queryset.order_by(*ordering_from(request.GET.get("sort")))


@require_GET
@login_required
def ledger_export_csv(request):
    today = _today()
    return exports.csv_response(_export_queryset(request, today), today)


@require_GET
@login_required
def ledger_export_xlsx(request):
    today = _today()
    return exports.xlsx_response(_export_queryset(request, today), today)
