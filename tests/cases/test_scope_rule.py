"""One scope rule (cases.scope.scope_of) feeds the cases, the region and department lists, the
notices and the scores; one find_region names a region everywhere."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from cases import services
from cases.access import departments_for_user, find_region, regions_for_user, scope_of
from cases.errors import InvalidInput, NotFound
from cases.models import Case, Region
from notices.access import can_see_notices, visible_regions
from scoring.services import readable_region_codes

pytestmark = pytest.mark.django_db


def test_each_role_has_its_scope(county_a, city_user, assessor, dept_x_user, region_a, dept_x):
    assert scope_of(city_user).every_region and scope_of(assessor).every_region
    assert scope_of(assessor).is_assessor and not scope_of(city_user).is_assessor
    assert scope_of(county_a).region_id == region_a.pk and not scope_of(county_a).every_region
    department = scope_of(dept_x_user)
    assert department.department_id == dept_x.pk and department.region_id is None
    assert scope_of(AnonymousUser()) == scope_of(None) == scope_of(county_a.__class__(username="x"))


def test_an_inactive_user_sees_nothing(county_a, assigned_case):
    county_a.is_active = False
    assert not Case.objects.for_user(county_a).exists()
    assert not regions_for_user(county_a).exists() and not departments_for_user(county_a).exists()
    assert not can_see_notices(county_a) and readable_region_codes(county_a) == []


def test_cases_regions_notices_and_scores_read_the_same_scope(
    county_a, county_b, city_user, assessor, dept_x_user, dept_y_user, dept_y, region_a, region_b, city, assigned_case
):
    every = set(Region.objects.values_list("code", flat=True))
    assert set(visible_regions(city_user).values_list("code", flat=True)) == every
    assert readable_region_codes(assessor) is None
    # A county office: its region everywhere.
    assert list(regions_for_user(county_a)) == list(visible_regions(county_a)) == [region_a]
    assert readable_region_codes(county_a) == [region_a.code]
    assert list(Case.objects.for_user(county_a)) == [assigned_case]
    assert not Case.objects.for_user(county_b).exists()
    # A department: the cases routed to it, its own region, no notices and no scores.
    assert list(regions_for_user(dept_x_user)) == [region_a]
    assert not visible_regions(dept_x_user).exists() and readable_region_codes(dept_x_user) == []
    assert list(Case.objects.for_user(dept_x_user)) == [assigned_case]
    assert not Case.objects.for_user(dept_y_user).exists()
    services.reassign(assigned_case, by=county_a, department=dept_y)
    assert list(Case.objects.for_user(dept_x_user)) == list(Case.objects.for_user(dept_y_user)) == [assigned_case]


def test_one_find_region_by_code_name_or_id_within_a_scope(region_a, region_b, county_a):
    assert find_region(region_a.code) == find_region(f"  {region_a.name} ") == region_a
    assert find_region(str(region_a.pk), by_id=True) == region_a
    with pytest.raises(NotFound):
        find_region(str(region_a.pk))  # an id only where the caller says ids are accepted
    with pytest.raises(NotFound):
        find_region(region_b.code, within=visible_regions(county_a))
    with pytest.raises(NotFound):
        find_region("浉河\x00区")
    with pytest.raises(InvalidInput):
        find_region("  ")
