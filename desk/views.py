"""The dashboard (each role's work queues) and the decisions taken on it.

Deciding an extension here calls the same service as the case page (``cases.services``); the
view only checks that the request decided is the one the office saw.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cases import services, workcalendar, workdays
from cases.access import get_case_for_user
from cases.errors import InvalidInput, NotAllowed, NotFound, WrongState
from cases.models import ExtensionRequest
from cases.roles import Role, is_office, role_of
from scoring.provisional import provisional_for_user

from . import dashboard as queues
from .forms import ExtensionDecisionForm


def _page(request, *, status: int = 200, error: str = ""):
    user = request.user
    role = role_of(user)
    now = timezone.now()
    today = timezone.localdate(now)
    soon = workdays.add_working_days(today, 2).date
    with queues.queue_planning():
        sections = queues.sections_for(user, role, today, soon)
        county = queues.county_table(user, today) if role == Role.CITY_OFFICE else None
    context = {
        "role": role,
        "today": today,
        "soon": soon,
        "error": error,
        "sections": sections,
        "totals": queues.state_totals(user) if role == Role.ASSESSOR else {},
        "can_log": is_office(user),
        # The city office is reminded while a year's official holiday schedule is awaited (1 November on).
        "awaited": workcalendar.awaited(today) if role == Role.CITY_OFFICE else None,
        "can_enter": role == Role.CITY_OFFICE,
        "provisional": provisional_for_user(user, now=now),
    }
    if county is not None:
        context["county_columns"], context["county_rows"], context["county_totals"] = county
    return render(request, "desk/dashboard.html", context, status=status)


@require_GET
@login_required
def dashboard(request):
    return _page(request)


class _Stale(Exception):
    pass


@require_POST
@login_required
def decide_extension(request, pk: int, decision: str):
    """Approve or reject the pending extension of case ``pk`` from the 延期待审批 queue."""
    if decision not in ("approve", "reject"):
        raise Http404(_("No such action."))
    case = get_case_for_user(request.user, pk)  # outside scope: 404 before anything else
    try:
        services.require_actor(request.user, case, office=True)
    except (NotAllowed, WrongState) as error:
        return render(request, "cases/refused.html", {"message": error.message}, status=403)
    form = ExtensionDecisionForm(request.POST)
    if not form.is_valid():
        errors = " ".join(str(e) for errs in form.errors.values() for e in errs)
        return _page(request, status=400, error=errors)
    seen = form.cleaned_data["request"]
    decide = services.approve_extension if decision == "approve" else services.reject_extension
    expected = ExtensionRequest.Status.APPROVED if decision == "approve" else ExtensionRequest.Status.REJECTED
    try:
        with transaction.atomic():
            case = decide(case, by=request.user, note=form.cleaned_data["note"])
            # The service decides the request pending under its lock; if that is not the one the
            # office read (decided and asked again meanwhile), undo and say so.
            if not ExtensionRequest.objects.filter(pk=seen, case=case, status=expected).exists():
                raise _Stale
    except _Stale:
        return _page(
            request,
            status=409,
            error=_(
                "This extension request was decided by someone else meanwhile; the dashboard now shows what is waiting."
            ),
        )
    except InvalidInput as error:
        return _page(request, status=400, error=error.message)
    except NotAllowed as error:
        return render(request, "cases/refused.html", {"message": error.message}, status=403)
    except NotFound as error:
        raise Http404(error.message) from None
    except WrongState as error:
        return _page(
            request,
            status=409,
            error=_("%(reason)s The dashboard now shows what is waiting.") % {"reason": error.message},
        )
    if decision == "approve":
        messages.success(
            request,
            _("Extension of case %(number)s approved; it is now due on %(due)s.")
            % {"number": case.number, "due": case.due_date.isoformat()},
        )
    else:
        messages.success(
            request,
            _("Extension of case %(number)s rejected; it stays due on %(due)s.")
            % {"number": case.number, "due": case.due_date.isoformat() if case.due_date else "—"},
        )
    return redirect(reverse("home") + "#queue-extension")
