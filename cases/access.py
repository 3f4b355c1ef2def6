"""The scoped fetchers every view, export, download and API viewset starts from, all reading
the one scope rule (``cases.scope.scope_of``); and the one lookup of a region someone names."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from .errors import InvalidInput, NotFound
from .input_rules import parse_id, text_problem
from .models import Case, Department, Evidence, Region
from .scope import Scope, scope_of

__all__ = [
    "Scope",
    "departments_for_user",
    "find_region",
    "get_case_for_user",
    "get_evidence_for_user",
    "regions_for_user",
    "routable_departments",
    "scope_of",
]


def get_case_for_user(user, pk) -> Case:
    """The case if the user may see it; 404 otherwise (existence is never revealed)."""
    try:
        return (
            Case.objects.for_user(user)
            .select_related("region", "enterprise", "category", "channel", "department")
            .get(pk=int(pk))
        )
    except (Case.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such case.")) from None


def get_evidence_for_user(user, pk) -> Evidence:
    try:
        return Evidence.objects.select_related("case").get(pk=int(pk), case__in=Case.objects.for_user(user))
    except (Evidence.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such file.")) from None


def regions_for_user(user) -> QuerySet[Region]:
    """Regions the user may act or look in."""
    return Region.objects.visible_to(scope_of(user))


def departments_for_user(user) -> QuerySet[Department]:
    return Department.objects.visible_to(scope_of(user))


def routable_departments(case: Case):
    """Departments a case may be routed to: its region's and the city's."""
    return (
        Department.objects.serving(case.region_id)
        .filter(active=True)
        .select_related("region")
        .order_by("region__level", "name")
    )


def find_region(value, *, within: QuerySet[Region] | None = None, by_id: bool = False) -> Region:
    """The one lookup of a region someone names: by GB/T 2260 code or Chinese name (``by_id``:
    or, for a number shorter than a code, its id), among ``within`` (every region by default).
    Nothing given: InvalidInput; anything else not found there: NotFound."""
    text = str(value if value is not None else "").strip()
    if not text:
        raise InvalidInput(_("Choose a region."), field="region")
    if text_problem(text):  # NUL and the like name no region (and PostgreSQL refuses them)
        raise NotFound(_("No such region."))
    query = Q(code=text) | Q(name=text)
    number = parse_id(text) if by_id else None
    if number is not None and len(text) < 6:
        query |= Q(pk=number)
    region = (Region.objects.all() if within is None else within).filter(query).first()
    if region is None:
        raise NotFound(_("No such region: %(value)s.") % {"value": text})
    return region
