"""Who sees and manages which region's notices.

The city office (and superusers) see all and manage the city's own and every county's; a county
office sees and manages only its region's; assessors read all; departments see none. Anything
outside a user's scope is 404, never 403.
"""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _

from cases.access import find_region as cases_find_region
from cases.errors import InvalidInput, NotFound
from cases.models import Region
from cases.roles import acts_for_region
from cases.scope import scope_of


def visible_region_filter(user, field: str) -> Q:
    """A Q on ``field`` (a Region foreign key) limiting rows to the user's regions."""
    return scope_of(user).office_region_filter(field)


def visible_regions(user):
    return Region.objects.read_by(scope_of(user))


def can_see_notices(user) -> bool:
    return scope_of(user).reads_offices


def can_manage(user, region: Region) -> bool:
    """Draft, edit, issue, register and schedule for this region: the offices acting for it."""
    return acts_for_region(user, region)


def visible_region(user, value) -> Region:
    """A region by code, Chinese name or id, within the user's scope; NotFound otherwise."""
    return cases_find_region(value, within=visible_regions(user), by_id=True)


def get_region_for_user(user, code) -> Region:
    try:
        return visible_region(user, code)
    except (NotFound, InvalidInput):
        raise Http404(_("No such region.")) from None
