"""Adding a responsible department (责任单位) to a region: from the API and from an import."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .access import regions_for_user
from .errors import InvalidInput, NotAllowed, NotFound
from .models import Department, Region
from .roles import acts_for_region, is_office


def create_department(*, by, region: Region, name: str) -> Department:
    """A county office adds departments to its county; the city office to any region or the city."""
    if not is_office(by):
        raise NotAllowed(_("Only a county office or the city office may add departments."))
    if region is None:
        raise InvalidInput(_("Choose the region."), field="region")
    # Every office sees the city's departments, so the city is "in scope" (403 below, not 404).
    if not region.is_city and not regions_for_user(by).filter(pk=region.pk).exists():
        raise NotFound(_("No such region."))
    if not acts_for_region(by, region):
        raise NotAllowed(_("Only the city office may add departments to the city."))
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("The department's name is required."), field="name")
    if len(name) > 100:
        raise InvalidInput(_("The department's name is too long (at most 100 characters)."), field="name")
    if Department.objects.filter(region=region, name=name).exists():
        raise InvalidInput(_("This region already has a department of that name."), field="name")
    try:
        with transaction.atomic():
            return Department.objects.create(region=region, name=name)
    except IntegrityError:
        raise InvalidInput(_("This region already has a department of that name."), field="name") from None
