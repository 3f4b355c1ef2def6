"""Who works a case: the active staff of an office or a department (the listeners of
``cases.signals`` address their messages with these)."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from ..models import Region
from ..roles import Role


def office_users(region: Region):
    """Active staff of the county office of a region (the city office for a city case)."""
    role = Role.CITY_OFFICE if region.is_city else Role.COUNTY_OFFICE
    users = get_user_model().objects.filter(is_active=True, profile__role=role)
    return users if region.is_city else users.filter(profile__region=region)


def department_users(department_id: int):
    return get_user_model().objects.filter(
        is_active=True, profile__role=Role.DEPARTMENT, profile__department_id=department_id
    )


def city_office_users():
    return get_user_model().objects.filter(is_active=True, profile__role=Role.CITY_OFFICE)
