"""Department users, managed by their office (用户管理): add, reset the password, disable, enable.

A county office manages the users of its own county's departments; the city office acts for every
region (``cases.roles.acts_for_region``), as everywhere else. A user outside that scope is "not
found" (404), never "forbidden": existence is not revealed. Every change is written with a
``StaffChange`` row in one transaction; a password is checked against the project's validators
and never recorded.
"""

from __future__ import annotations

import datetime as dt
import secrets

from axes.utils import reset as reset_lockouts
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from cases.errors import InvalidInput, NotAllowed, NotFound
from cases.input_rules import text_problem
from cases.models import Department, Profile, Region
from cases.roles import Role, acts_for_region, is_office, role_of
from cases.users import create_user

from .models import StaffChange

User = get_user_model()


def require_manager(by) -> None:
    if not is_office(by):
        raise NotAllowed(_("Only a county office or the city office manages department users."))


def manageable_departments(by):
    """The departments whose users ``by`` manages: its county's, or every region's for the city."""
    require_manager(by)
    departments = Department.objects.select_related("region").order_by("region__level", "region__code", "name")
    if role_of(by) == Role.CITY_OFFICE:
        return departments
    return departments.filter(region_id=by.profile.region_id)


def department_users(by):
    """Department users in ``by``'s scope, with their department (one query for a list)."""
    return (
        User.objects.filter(profile__role=Role.DEPARTMENT, profile__department__in=manageable_departments(by))
        .select_related("profile__department__region")
        .order_by("profile__department__region__code", "profile__department__name", "username")
    )


def get_department_user(by, pk) -> User:
    try:
        return department_users(by).get(pk=int(pk))
    except (User.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFound(_("No such department user.")) from None


def generated_password() -> str:
    """Twelve characters an office can read out over the phone (no 0/O, 1/l/I)."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


def _check_password(password: str, user=None) -> None:
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise InvalidInput(" ".join(error.messages), field="password") from None


def _check_display_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("Give the user's name as colleagues know it."), field="display_name")
    problem = text_problem(name)
    if problem:
        raise InvalidInput(problem, field="display_name")
    if len(name) > 150:
        raise InvalidInput(_("A name has at most 150 characters."), field="display_name")
    return name


def _check_username(username: str) -> str:
    username = (username or "").strip()
    if not username:
        raise InvalidInput(_("Give a username."), field="username")
    if len(username) > 150:
        raise InvalidInput(_("A username has at most 150 characters."), field="username")
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        raise InvalidInput(_("A username is letters, digits and @ . + - _ only."), field="username") from None
    if User.objects.filter(username__iexact=username).exists():
        raise InvalidInput(_("The username %(name)s is taken; choose another.") % {"name": username}, field="username")
    return username


def _record(by, user, department: Department, action: str, now: dt.datetime, detail: str = "") -> StaffChange:
    return StaffChange.objects.create(
        action=action,
        actor=by,
        actor_name=by.get_full_name() or by.get_username(),
        user=user,
        username=user.get_username(),
        department=department,
        region=department.region,
        at=now,
        detail=detail[:200],
    )


def add_department_user(
    *, by, department: Department, username: str, display_name: str, password: str, now: dt.datetime | None = None
):
    """A new department user; refuses a taken username (any letter case) and a weak password."""
    now = now or timezone.now()
    require_manager(by)
    if not acts_for_region(by, department.region):
        raise NotFound(_("No such department."))
    if not department.active:
        raise InvalidInput(
            _("This department is no longer active; users are added to active departments."), field="department"
        )
    username = _check_username(username)
    display_name = _check_display_name(display_name)
    _check_password(password, User(username=username, first_name=display_name))
    try:
        with transaction.atomic():
            user, _password = create_user(
                username, role=Role.DEPARTMENT, department=department, password=password, create_only=True
            )
            user.first_name = display_name
            user.date_joined = now
            user.save(update_fields=["first_name", "date_joined"])
            _record(by, user, department, StaffChange.Action.CREATED, now, detail=department.name)
    except IntegrityError:  # the same username added at the same moment by another office
        raise InvalidInput(
            _("The username %(name)s is taken; choose another.") % {"name": username}, field="username"
        ) from None
    return user


def _department_of(user) -> Department:
    return Profile.objects.select_related("department__region").get(user=user).department


def reset_password(*, by, user, password: str = "", now: dt.datetime | None = None) -> str:
    """Set a new password (a generated one when none is given) and return it; the user's other
    sessions and API token stop working, and a login lockout is lifted."""
    now = now or timezone.now()
    with transaction.atomic():
        user = get_department_user(by, user.pk)
        generated = not password
        password = password or generated_password()
        _check_password(password, user)
        user.set_password(password)  # a new password hash: every open session of the user ends
        user.save(update_fields=["password"])
        Token.objects.filter(user=user).delete()
        _record(
            by,
            user,
            _department_of(user),
            StaffChange.Action.PASSWORD_RESET,
            now,
            detail=_("generated") if generated else "",
        )
    reset_lockouts(username=user.get_username())
    return password


def set_active(*, by, user, active: bool, now: dt.datetime | None = None):
    """Disable (or enable again) a department user: a disabled user cannot log in or use the API;
    their history stays."""
    now = now or timezone.now()
    with transaction.atomic():
        user = get_department_user(by, user.pk)
        changed = User.objects.filter(pk=user.pk, is_active=not active).update(is_active=active)
        if changed:  # a second click changes nothing and records nothing
            if not active:
                Token.objects.filter(user=user).delete()
            action = StaffChange.Action.ENABLED if active else StaffChange.Action.DISABLED
            _record(by, user, _department_of(user), action, now)
    user.refresh_from_db()
    return user


def changes_for(by, region: Region | None = None):
    """The audit rows ``by`` may read: its county's, or every region's for the city."""
    require_manager(by)
    rows = StaffChange.objects.select_related("region")
    if role_of(by) != Role.CITY_OFFICE:
        rows = rows.filter(region_id=by.profile.region_id)
    elif region is not None:
        rows = rows.filter(region=region)
    return rows
