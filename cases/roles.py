"""The four roles of SPEC §1, kept as auth groups plus a Profile naming the region/department."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CITY_OFFICE = "city_office", _("City office")  # 市服务办
    COUNTY_OFFICE = "county_office", _("County office")  # 县区服务办
    DEPARTMENT = "department", _("Department")  # 责任单位
    ASSESSOR = "assessor", _("Assessor")  # 考核组


def role_of(user) -> str | None:
    """The user's role; superusers act as the city office."""
    if not user or not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.CITY_OFFICE
    cached = getattr(user, "_case_ledger_role", None)
    if cached is not None:
        return cached or None
    profile = getattr(user, "profile", None)
    role = profile.role if profile else ""
    user._case_ledger_role = role
    return role or None


def is_office(user) -> bool:
    return role_of(user) in (Role.CITY_OFFICE, Role.COUNTY_OFFICE)


def acts_for_region(user, region) -> bool:
    """A city office acts for every region; a county office for its own."""
    role = role_of(user)
    if role == Role.CITY_OFFICE:
        return True
    if role == Role.COUNTY_OFFICE:
        return user.profile.region_id == region.pk
    return False


def department_of(user):
    if role_of(user) != Role.DEPARTMENT:
        return None
    return user.profile.department


def region_of(user):
    profile = getattr(user, "profile", None)
    return profile.region if profile else None
