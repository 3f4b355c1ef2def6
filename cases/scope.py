"""The one scope rule: ``scope_of(user)`` says once which regions and cases a user sees.

The case queryset (``Case.objects.for_user``), the region and department lists of forms,
filters and the admin (``cases.access``), the notices (``notices.access``) and the scores
(``scoring.services``) all read it, the way Zulip's ``access_stream_by_id`` is the one door to
a stream. It is plain data (no query): the querysets that apply it live with their models
(``CaseQuerySet.for_scope``, ``RegionQuerySet.visible_to``, ``DepartmentQuerySet.visible_to``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from .roles import Role, role_of


@dataclass(frozen=True)
class Scope:
    """What one user sees.

    * ``every_region``: the city office and the assessment group see every region and case;
    * ``region_id``: a county office sees its region's cases, departments, notices and scores;
    * ``department_id``: a department sees the cases that are or were routed to it and its own
      region, but no region's notices or scores;
    * none of these (anonymous, inactive, no role): nothing.
    """

    role: str | None = None
    every_region: bool = False
    region_id: int | None = None  # a county office's region
    department_id: int | None = None  # a department user's department

    @property
    def is_assessor(self) -> bool:
        return self.role == Role.ASSESSOR

    @property
    def reads_offices(self) -> bool:
        """Reads some region's notices and scores (every region's, or a county office's own)."""
        return self.every_region or self.region_id is not None

    def office_region_filter(self, field: str) -> Q:
        """A Q on ``field`` (a Region foreign key) limiting rows to the regions whose notices and
        scores this user reads."""
        if self.every_region:
            return Q()
        return Q(**{f"{field}_id": self.region_id}) if self.region_id else Q(pk__in=[])


NOBODY = Scope()


def scope_of(user) -> Scope:
    """What this user sees. An inactive user (who cannot log in) sees nothing."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NOBODY
    role = role_of(user)
    if role in (Role.CITY_OFFICE, Role.ASSESSOR):
        return Scope(role, every_region=True)
    profile = getattr(user, "profile", None)
    if role == Role.COUNTY_OFFICE and profile and profile.region_id:
        return Scope(role, region_id=profile.region_id)
    if role == Role.DEPARTMENT and profile and profile.department_id:
        return Scope(role, department_id=profile.department_id)
    return Scope(role)
