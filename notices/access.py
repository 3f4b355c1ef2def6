"""Who sees and manages which region's notices.

The city office (and superusers) see all and manage the city's own and every county's; a county
office sees and manages only its region's; assessors read all; departments see none. Anything
outside a user's scope is 404, never 403.
"""
from __future__ import annotations

from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _

from cases.errors import InvalidInput, NotFound
from cases.input_rules import parse_id, text_problem
from cases.models import Region
from cases.roles import Role, acts_for_region, role_of


def _region_scope(user) -> int | None | bool:
    """True: every region; a region id: that one; None: no region (departments, inactive users)."""
    role = role_of(user) if user is not None and user.is_active else None
    if role in (Role.CITY_OFFICE, Role.ASSESSOR):
        return True
    profile = getattr(user, "profile", None)
    if role == Role.COUNTY_OFFICE and profile and profile.region_id:
        return profile.region_id
    return None


def visible_region_filter(user, field: str) -> Q:
    """A Q on ``field`` (a Region foreign key) limiting rows to the user's regions."""
    scope = _region_scope(user)
    if scope is True:
        return Q()
    return Q(**{f"{field}_id": scope}) if scope is not None else Q(pk__in=[])


def visible_regions(user):
    scope = _region_scope(user)
    if scope is True:
        return Region.objects.all()
    return Region.objects.filter(pk=scope) if scope is not None else Region.objects.none()


def can_see_notices(user) -> bool:
    return _region_scope(user) is not None


def can_manage(user, region: Region) -> bool:
    """Draft, edit, issue, register and schedule for this region: the offices acting for it."""
    return acts_for_region(user, region)


def find_region(user, value) -> Region:
    """A region by code, Chinese name or id, within the user's scope; NotFound otherwise."""
    text = str(value if value is not None else "").strip()
    if not text:
        raise InvalidInput(_("Choose a region."), field="region")
    if text_problem(text):
        raise NotFound(_("No such region."))
    query = Q(code=text) | Q(name=text)
    number = parse_id(text)
    if number is not None and len(text) < 6:
        query |= Q(pk=number)
    region = visible_regions(user).filter(query).first()
    if region is None:
        raise NotFound(_("No such region."))
    return region


def get_region_for_user(user, code) -> Region:
    try:
        return find_region(user, code)
    except (NotFound, InvalidInput):
        raise Http404(_("No such region.")) from None
