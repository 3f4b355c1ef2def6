"""Thin views of the web UI: fetch within the user's scope, check the form, call the service.

Every change goes through ``cases.services``; these views only map its refusals to pages:
InvalidInput → the form again (400), NotAllowed → 403, NotFound → 404, WrongState → 409.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
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

from config.db_router import replica_view
from ledger.completeness import LACK_LABELS, lacks
from ledger.services import entries_for

from . import actions, exports, forms, idempotency, services, workdays
from .access import get_case_for_user, get_evidence_for_user
from .actions import ACTIONS as ACTIONS_DECLARED
from .display_names import PROFILE_RELATED
from .errors import CaseError, InvalidInput, MovedOn, NotAllowed, NotFound, WrongState
from .filters import LedgerFilter
from .forms import AssignForm, IntakeForm
from .models import Case, Category, state_label
from .paginators import CappedPaginator
from .roles import is_office
from .search.ui import SearchLedgerTable, jump_target, ledger_search
from .tables import (
    TIMELINESS_LATE,
    TIMELINESS_ON_TIME,
    TIMELINESS_OVERDUE,
    LedgerTable,
    ordering_from,
    timeliness,
)

# -- labels for what the ledger records (the actions' own: cases.actions.label_of) -------------

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
            return _intake_repeated(request, stored)
    if not form.is_valid():
        return _intake_page(request, form, status=400)
    return _intake_log(request, form, now=now, key=key, request_hash=request_hash)


def _intake_log(request, form, *, now, key, request_hash):
    """Log the case the valid form describes — once per submission key, when the form has one."""
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
            case, created = idempotency.create_once(
                by=request.user, key=key, request_hash=request_hash, create=create, now=now
            )
        else:
            case, created = create(), True
    except NotAllowed as error:
        return _refused(request, error)
    except CaseError as error:
        form.add_service_error(error)
        return _intake_page(request, form, status=400)
    if not created:
        return _intake_repeated(request, case)
    messages.success(request, _("Case %(number)s logged.") % {"number": case.number})
    return redirect("cases:detail", pk=case.pk)


def _intake_repeated(request, case):
    messages.info(
        request,
        _("Case %(number)s was already logged from this form; the repeated submission logged nothing new.")
        % {"number": case.number},
    )
    return redirect("cases:detail", pk=case.pk)


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
    form.add_error(
        None,
        _(
            "This form was already submitted and logged as case %(number)s. Nothing new was "
            "logged; submit again to log what the form says now as another case."
        )
        % {"number": logged.number if logged else "—"},
    )
    return _intake_page(request, form, status=409)


# -- case detail and actions -----------------------------------------------------------------


@dataclass(frozen=True)
class PageAction:
    """An action as the case page offers it: a form in the action grid, one URL, one message
    (all read from its declaration in cases.actions)."""

    name: str
    form: type
    label: str
    done: str
    office: bool  # an office action (else: the assigned department's)
    button_css: str = ""

    def call(self, case: Case, user, data: dict) -> Case:
        """The action's service, with the form's fields as its arguments."""
        return getattr(services, ACTIONS_DECLARED[self.name].service)(case, by=user, **data)


def _page_action(action: actions.Action) -> PageAction:
    return PageAction(
        action.name,
        getattr(forms, action.form),
        action.button,
        action.done,
        office=action.office,
        button_css="btn-secondary" if action.secondary else "",
    )


ACTIONS: dict[str, PageAction] = {action.name: _page_action(action) for action in actions.on_page(actions.Page.FORM)}


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


def _with_profile(user_field: str) -> list[str]:
    """select_related paths for a user and what its display name reads."""
    return [user_field, *(f"{user_field}__{path}" for path in PROFILE_RELATED)]


def _render_detail(request, case: Case, *, bound: dict | None = None, status: int = 200, error: str = ""):
    today = _today()
    available = services.available_actions(case, request.user)
    action_forms = []
    other_actions = []
    for name in available:
        if name not in ACTIONS:
            other_actions.append(name)  # rendered by cases/_extension_actions.html
            continue
        form = (bound or {}).get(name) or _form_for(name, case)
        # ?department= (the dashboard's 退单 queue) opens the routing form with it chosen.
        preselected = (
            name not in (bound or {}) and isinstance(form, AssignForm) and form.preselect(request.GET.get("department"))
        )
        action_forms.append(
            {
                "name": name,
                "action": ACTIONS[name],
                "form": form,
                "url": reverse(f"cases:{name}", args=[case.pk]),
                "open": name in (bound or {}) or preselected,
            }
        )
    chain = list(entries_for(case).select_related(*_with_profile("actor")))
    entries = []
    for entry in chain:
        entries.append(
            {
                "entry": entry,
                "label": actions.label_of(entry.action),
                "from_label": state_label(entry.from_state) if entry.from_state else "",
                "to_label": state_label(entry.to_state) if entry.to_state else "",
                "source_label": SOURCE_LABELS.get(entry.source, entry.source),
                "summary": payload_summary(entry.action, entry.payload or {}),
            }
        )
    missing = [str(MISSING_LABELS.get(key, key)) for key in lacks(case.number, chain)]
    # The version this page shows; every action form sends it back (see services.refusal_for).
    seen = chain[-1].seq if chain else 0
    badge_text, badge_css = _due_badge(case, today)
    return render(
        request,
        "cases/detail.html",
        {
            "case": case,
            "today": today,
            "badge_text": badge_text,
            "badge_css": badge_css,
            "missing": missing,
            "evidence": case.evidence.select_related(*_with_profile("uploaded_by")),
            "follow_ups": case.follow_ups.select_related(*_with_profile("recorded_by")),
            "entries": entries,
            "action_forms": action_forms,
            "other_actions": other_actions,
            "error": error,
            "state_label": state_label(case.state),
            "seen": seen,
        },
        status=status,
    )


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
        message = _(
            "The case has been changed by someone else or no longer allows this action: %(reason)s "
            "The page now shows its current state."
        ) % {"reason": error.message}
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
        return _render_detail(
            request, case, bound={action: form}, status=400, error=_("Please correct the errors below.")
        )
    try:
        ACTIONS[action].call(case, request.user, form.cleaned_data)
    except InvalidInput as error:
        form.add_service_error(error)
        return _render_detail(
            request, get_case_for_user(request.user, pk), bound={action: form}, status=400, error=error.message
        )
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
        raise Http404(
            _("This evidence is a reference only (%(ref)s); there is no file to download.")
            % {"ref": evidence.reference or evidence.original_name}
        )
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
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=evidence.original_name,
            content_type=evidence.content_type or "application/octet-stream",
        )
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
    if not queryset.query.order_by:
        # The default order said (not left to Meta.ordering): a department's scope reads it from
        # its own index (CaseQuerySet.order_by).
        queryset = queryset.order_by(*Case._meta.ordering)
    queryset = queryset.select_related("enterprise", "category", "department")
    table = (
        SearchLedgerTable(queryset, today=today, words=search.words) if search else LedgerTable(queryset, today=today)
    )
    # Counted up to 10,000 and lazy past that: no page view counts a million rows (cases.paginators).
    RequestConfig(request, paginate={"per_page": 50, "paginator_class": CappedPaginator}).configure(table)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "cases/ledger.html",
        {
            "filter": filterset,
            "table": table,
            "export_query": query.urlencode(),
            "search": search,
            "today": today,
            "legend": {"on_time": TIMELINESS_ON_TIME, "late": TIMELINESS_LATE, "overdue": TIMELINESS_OVERDUE},
        },
    )


def _export_queryset(request, today):
    _filterset, queryset = _ledger_queryset(request, today)
    return queryset.order_by(*ordering_from(request.GET.get("sort")))


@require_GET
@login_required
@replica_view
def ledger_export_csv(request):
    today = _today()
    return exports.csv_response(_export_queryset(request, today), today)


@require_GET
@login_required
@replica_view
def ledger_export_xlsx(request):
    today = _today()
    return exports.xlsx_response(_export_queryset(request, today), today)
