"""The office's department users (部门用户管理): list, add, reset a password, disable/enable, and
the record of those changes. Rules and scope are in desk.staff; these views map its refusals to
pages: not an office → 403, a user or department outside the office's scope → 404, bad input →
the form again with 400.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cases.errors import InvalidInput, NotAllowed, NotFound
from cases.roles import Role, role_of

from . import staff
from .forms import AddDepartmentUserForm, DepartmentFilterForm, ResetPasswordForm


def _refused(request, error):
    return render(request, "cases/refused.html", {"message": error.message}, status=403)


def _managed(view):
    """Offices only (403 for everyone else, before anything is looked up)."""

    def wrapped(request, *args, **kwargs):
        try:
            staff.require_manager(request.user)
        except NotAllowed as error:
            return _refused(request, error)
        try:
            return view(request, *args, **kwargs)
        except NotFound as error:
            raise Http404(error.message) from None

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return login_required(wrapped)


def _form_error(form, error: InvalidInput) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


@require_http_methods(["GET"])
@_managed
def user_list(request):
    departments = staff.manageable_departments(request.user)
    filters = DepartmentFilterForm(request.GET or None, departments=departments)
    users = staff.department_users(request.user)
    if filters.is_valid() and filters.cleaned_data["department"]:
        users = users.filter(profile__department=filters.cleaned_data["department"])
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "desk/users.html",
        {
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
            "changes": staff.changes_for(request.user).select_related("department")[:10],
            "is_city": role_of(request.user) == Role.CITY_OFFICE,
        },
        status=200 if filters.is_bound is False or filters.is_valid() else 400,
    )


@require_http_methods(["GET", "POST"])
@_managed
def user_add(request):
    departments = staff.manageable_departments(request.user)
    initial = {"department": request.GET.get("department")} if request.GET.get("department") else None
    form = AddDepartmentUserForm(
        request.POST if request.method == "POST" else None, initial=initial, departments=departments
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = staff.add_department_user(
                by=request.user,
                department=data["department"],
                username=data["username"],
                display_name=data["display_name"],
                password=data["password"],
            )
        except InvalidInput as error:
            _form_error(form, error)
        else:
            messages.success(
                request,
                _("%(name)s (%(username)s) can now log in for %(department)s.")
                % {"name": user.first_name, "username": user.username, "department": data["department"].name},
            )
            return redirect("desk:users")
    return render(request, "desk/user_add.html", {"form": form}, status=400 if form.is_bound else 200)


@require_http_methods(["GET", "POST"])
@_managed
def user_password(request, pk: int):
    user = staff.get_department_user(request.user, pk)
    form = ResetPasswordForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            password = staff.reset_password(by=request.user, user=user, password=form.cleaned_data["password"])
        except InvalidInput as error:
            _form_error(form, error)
        else:
            if form.cleaned_data["password"]:
                messages.success(request, _("The password of %(username)s was reset.") % {"username": user.username})
                return redirect("desk:users")
            # A generated password is shown once, on this page, never stored or sent anywhere.
            response = render(request, "desk/user_password_done.html", {"target": user, "password": password})
            response["Cache-Control"] = "no-store"
            return response
    return render(
        request, "desk/user_password.html", {"target": user, "form": form}, status=400 if form.is_bound else 200
    )


@require_POST
@_managed
def user_active(request, pk: int):
    user = staff.get_department_user(request.user, pk)
    value = request.POST.get("active")
    if value not in ("0", "1"):
        messages.error(request, _("Say whether to enable or disable the user."))
        return redirect("desk:users")
    user = staff.set_active(by=request.user, user=user, active=value == "1")
    if user.is_active:
        messages.success(request, _("%(username)s is enabled and can log in again.") % {"username": user.username})
    else:
        messages.success(
            request, _("%(username)s is disabled: no login, no API; the history stays.") % {"username": user.username}
        )
    return redirect("desk:users")


@require_http_methods(["GET"])
@_managed
def user_changes(request):
    page = Paginator(staff.changes_for(request.user).select_related("department"), 50).get_page(request.GET.get("page"))
    return render(request, "desk/user_changes.html", {"page": page})
