"""Creating users with a role: used by ``add_user``, ``seed_demo`` and the tests."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from .access import find_region
from .errors import CaseError
from .models import Department, Profile, Region
from .roles import Role


class UserSetupError(ValueError):
    pass


def _region_named(value: str | None) -> Region | None:
    """The region an ``add_user`` command names (``cases.access.find_region``), or None."""
    if not value:
        return None
    try:
        return find_region(value)
    except CaseError:
        raise UserSetupError(f"Unknown region: {value}") from None


def _placement(role: str, region, department) -> tuple[Region | None, Department | None]:
    """Where a user of ``role`` sits: a county office in a county, a department user in its
    department's region, the city office in the city; refused with the command's words otherwise."""
    if role not in Role.values:
        raise UserSetupError(f"Unknown role: {role}")
    if isinstance(region, str):
        region = _region_named(region)
    if isinstance(department, int):
        department = Department.objects.filter(pk=department).select_related("region").first()
        if department is None:
            raise UserSetupError("Unknown department id")
    if role == Role.COUNTY_OFFICE and (region is None or region.is_city):
        raise UserSetupError(
            "A county office user needs --region"
            if region is None
            else "A county office user belongs to a county, not the city; use --role city_office"
        )
    if role == Role.DEPARTMENT:
        if department is None:
            raise UserSetupError("A department user needs --department")
        return department.region, department
    if role == Role.CITY_OFFICE:
        return Region.objects.filter(level=Region.Level.CITY).first(), None
    return region, None


@transaction.atomic
def create_user(
    username: str,
    *,
    role: str,
    region: Region | str | None = None,
    department: Department | int | None = None,
    password: str | None = None,
    email: str = "",
    password_hash: str | None = None,
    create_only: bool = False,
):
    """Create or update the user. ``password_hash`` (from make_password) lets a seeder hash once.
    ``create_only``: never take over an existing account — a username taken meanwhile raises
    IntegrityError (the in-app "add a user" page), where the commands update the user they name."""
    region, department = _placement(role, region, department)
    password = password or secrets.token_urlsafe(9)
    User = get_user_model()
    if create_only:
        user = User.objects.create(username=username, email=email)
    else:
        user, _created = User.objects.get_or_create(username=username, defaults={"email": email})
    if password_hash:
        user.password = password_hash
    else:
        user.set_password(password)
    if email:
        user.email = email
    user.is_staff = True  # everyone may use the (scoped) admin
    user.save()
    user.groups.set([Group.objects.get_or_create(name=role)[0]])
    Profile.objects.update_or_create(user=user, defaults={"role": role, "region": region, "department": department})
    return user, password
