"""POST views for the deadline-extension actions (延期): request, approve, reject.

The forms are in ``cases/_extension_actions.html`` on the case detail page. Each view calls the
service; a refusal re-renders the detail page with the message and the matching status
(400 bad input, 403 wrong role, 404 outside scope, 409 wrong state or a lost race).
"""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from . import services
from .access import get_case_for_user
from .errors import InvalidInput, NotAllowed, NotFound, WrongState
from .input_rules import TextRulesForm


class RequestExtensionForm(TextRulesForm, forms.Form):
    days = forms.IntegerField(label=gettext_lazy("Working days asked"), min_value=1)
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)

    def clean_days(self):
        days = self.cleaned_data["days"]
        limit = services.extension_max_days()
        if days > limit:
            raise forms.ValidationError(_("An extension is between 1 and %(n)d working days.") % {"n": limit})
        return days


class DecisionForm(TextRulesForm, forms.Form):
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))


DONE = {
    "request_extension": gettext_lazy("Extension requested; the office will decide."),
    "approve_extension": gettext_lazy("Extension approved; the due date has moved."),
    "reject_extension": gettext_lazy("Extension rejected."),
}


def _detail_with_error(request, pk: int, message: str, status: int):
    from .views import _render_detail  # the detail page belongs to cases.views

    return _render_detail(request, get_case_for_user(request.user, pk), status=status, error=message)


def _act(request, pk: int, action: str):
    case = get_case_for_user(request.user, pk)  # outside scope: 404 before anything else
    try:  # then the role, as for every other action (web and API): 403 before the form's 400
        services.require_actor(request.user, case, office=action != "request_extension")
    except NotAllowed as error:
        return _detail_with_error(request, case.pk, error.message, 403)
    except WrongState as error:  # a department the case has left since its page was loaded
        return _detail_with_error(request, case.pk, error.message, 409)
    seen = services.parse_version(request.POST.get("seen"))
    if (seen is not None and action not in services.available_actions(case, request.user)
            and seen != services.ledger_version(case)):
        return _detail_with_error(request, case.pk, services.moved_on().message, 409)
    form = (RequestExtensionForm if action == "request_extension" else DecisionForm)(request.POST, prefix=action)
    if not form.is_valid():
        errors = " ".join(str(e) for errs in form.errors.values() for e in errs)
        return _detail_with_error(request, case.pk, errors, 400)
    data = form.cleaned_data
    try:
        if action == "request_extension":
            services.request_extension(case, by=request.user, reason=data["reason"], days=data["days"])
        elif action == "approve_extension":
            services.approve_extension(case, by=request.user, note=data["note"])
        else:
            services.reject_extension(case, by=request.user, note=data["note"])
    except InvalidInput as error:
        return _detail_with_error(request, case.pk, error.message, 400)
    except NotAllowed as error:
        return _detail_with_error(request, case.pk, error.message, 403)
    except NotFound as error:
        raise Http404(error.message) from None
    except WrongState as error:
        return _detail_with_error(request, case.pk, error.message, 409)
    messages.success(request, str(DONE[action]))
    return redirect("cases:detail", pk=case.pk)


@require_POST
@login_required
def request_extension(request, pk: int):
    return _act(request, pk, "request_extension")


@require_POST
@login_required
def approve_extension(request, pk: int):
    return _act(request, pk, "approve_extension")


@require_POST
@login_required
def reject_extension(request, pk: int):
    return _act(request, pk, "reject_extension")
