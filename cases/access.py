"""The scoped fetchers every view, export, download and API viewset starts from."""
from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _

from .models import Case, Department, Evidence, Region
from .roles import Role, role_of


def get_case_for_user(user, pk) -> Case:
    """The case if the user may see it; 404 otherwise (existence is never revealed)."""
    try:
        return Case.objects.for_user(user).select_related(
            "region", "enterprise", "category", "channel", "department"
        ).get(pk=int(pk))
    except (Case.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such case.")) from None


def get_evidence_for_user(user, pk) -> Evidence:
    try:
        return Evidence.objects.select_related("case").get(pk=int(pk), case__in=Case.objects.for_user(user))
    except (Evidence.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such file.")) from None


def regions_for_user(user):
    """Regions the user may act or look in."""
    role = role_of(user)
    if role in (Role.CITY_OFFICE, Role.ASSESSOR):
        return Region.objects.all()
    profile = getattr(user, "profile", None)
    if role == Role.COUNTY_OFFICE and profile and profile.region_id:
        return Region.objects.filter(pk=profile.region_id)
    if role == Role.DEPARTMENT and profile and profile.department_id:
        return Region.objects.filter(pk=profile.department.region_id)
    return Region.objects.none()


def departments_for_user(user):
    role = role_of(user)
    if role in (Role.CITY_OFFICE, Role.ASSESSOR):
        return Department.objects.select_related("region")
    profile = getattr(user, "profile", None)
    if role == Role.COUNTY_OFFICE and profile and profile.region_id:
        return Department.objects.serving(profile.region_id).select_related("region")
    if role == Role.DEPARTMENT and profile and profile.department_id:
        return Department.objects.filter(pk=profile.department_id).select_related("region")
    return Department.objects.none()


def routable_departments(case: Case):
    """Departments a case may be routed to: its region's and the city's."""
    return (Department.objects.serving(case.region_id).filter(active=True).select_related("region")
            .order_by("region__level", "name"))
