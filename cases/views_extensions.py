"""POST views for the deadline-extension actions (延期): request, approve, reject.

The forms are in ``cases/_extension_actions.html`` on the case detail page. Each view calls the
service; a refusal re-renders the detail page with the message and the matching status
(400 bad input, 403 wrong role, 404 outside scope, 409 wrong state or a lost race).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from . import forms, services
from .access import get_case_for_user
from .actions import ACTIONS, Action
from .errors import InvalidInput, NotAllowed, NotFound, WrongState


def _detail_with_error(request, pk: int, message: str, status: int):
    from .views import _render_detail  # the detail page belongs to cases.views

    return _render_detail(request, get_case_for_user(request.user, pk), status=status, error=message)


def _act(request, pk: int, name: str):
    action = ACTIONS[name]
    case = get_case_for_user(request.user, pk)  # outside scope: 404 before anything else
    try:  # then the role, as for every other action (web and API): 403 before the form's 400
        services.require_actor(request.user, case, office=action.office)
    except NotAllowed as error:
        return _detail_with_error(request, case.pk, error.message, 403)
    except WrongState as error:  # a department the case has left since its page was loaded
        return _detail_with_error(request, case.pk, error.message, 409)
    seen = services.parse_version(request.POST.get("seen"))
    if (
        seen is not None
        and name not in services.available_actions(case, request.user)
        and seen != services.ledger_version(case)
    ):
        return _detail_with_error(request, case.pk, services.moved_on().message, 409)
    form = getattr(forms, action.form)(request.POST, prefix=name)
    if not form.is_valid():
        errors = " ".join(str(e) for errs in form.errors.values() for e in errs)
        return _detail_with_error(request, case.pk, errors, 400)
    try:
        getattr(services, action.service)(case, by=request.user, **form.cleaned_data)
    except InvalidInput as error:
        return _detail_with_error(request, case.pk, error.message, 400)
    except NotAllowed as error:
        return _detail_with_error(request, case.pk, error.message, 403)
    except NotFound as error:
        raise Http404(error.message) from None
    except WrongState as error:
        return _detail_with_error(request, case.pk, error.message, 409)
    messages.success(request, str(action.done))
    return redirect("cases:detail", pk=case.pk)


def view_for(action: Action):
    """The POST view of one extension action (cases.urls routes each to its own)."""

    @require_POST
    @login_required
    def view(request, pk: int):
        return _act(request, pk, action.name)

    view.__name__ = view.__qualname__ = action.name
    return view
