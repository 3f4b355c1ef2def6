"""The notice's figures through the case indexes (``Case.first_assigned_at``, closings and open
cases found by case columns) equal the figures read from every ledger entry, as the drafting read
them before (tests/notices/reference_drafting.py): on generated years (``generate_load``, whose
histories route, return, close and reopen) and on histories made through the services, on SQLite
and on PostgreSQL."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db.models import Min

from cases import services as cases
from cases.models import Case, Region
from ledger.models import LedgerEntry
from notices import drafting, periods

from .conftest import at
from .reference_drafting import reference_compute

pytestmark = pytest.mark.django_db
YEAR = 2025


def _first_assigns() -> dict[int, object]:
    rows = LedgerEntry.objects.filter(action="assign").values("case_id").annotate(first=Min("occurred_at"))
    return {row["case_id"]: row["first"] for row in rows}


def _assert_kept_column_matches_ledger() -> None:
    firsts = _first_assigns()
    kept = dict(Case.objects.values_list("pk", "first_assigned_at"))
    assert kept == {pk: firsts.get(pk) for pk in kept}
    assert any(v is not None for v in kept.values()) and any(v is None for v in kept.values())


def _assert_same_figures(regions, period_list) -> int:
    compared = 0
    for region in regions:
        for period in period_list:
            assert drafting.compute(region, period) == reference_compute(region, period), (region.code, period.key)
            compared += 1
    return compared


def _generated_year(seed: int) -> list[Region]:
    call_command("generate_load", cases=400, year=YEAR, seed=seed, stdout=io.StringIO())
    used = Case.objects.values_list("region_id", flat=True).distinct()
    counties = list(Region.objects.filter(pk__in=used).order_by("code")[:3])
    return [*counties, Region.objects.get(level=Region.Level.CITY)]


def _periods() -> list[periods.Period]:
    return [
        *periods.in_year(YEAR, periods.MONTHLY),
        *periods.in_year(YEAR, periods.QUARTERLY),
        periods.parse(f"{YEAR + 1}-01"),
    ]


@pytest.mark.parametrize("seed", [3, 17])
def test_generated_year_figures_equal_the_ledger_reading(seed):
    regions = _generated_year(seed)
    _assert_kept_column_matches_ledger()
    # Reopened cases (closings in more than one period) and cases closed after a period are there.
    assert Case.objects.filter(reopen_count__gt=0).exists()
    assert _assert_same_figures(regions, _periods()) == len(regions) * 17


@pytest.mark.postgres
def test_generated_year_figures_equal_the_ledger_reading_on_postgresql():
    regions = _generated_year(29)
    _assert_kept_column_matches_ledger()
    assert _assert_same_figures(regions, _periods()) == len(regions) * 17


def test_service_histories_keep_the_first_routing(
    make_case, county_a, region_a, region_b, dept_x, dept_y, dept_x_user, dept_y_user
):
    """Routed, returned, routed again, reassigned, closed, reopened and closed again across
    months: the kept first routing is the first ``assign``, and the figures match the ledger's."""
    city = Region.objects.get(level=Region.Level.CITY)
    received = at("2026-02-02", 9)
    bounced = make_case(received_at=received, now=received)
    cases.assign(bounced, by=county_a, department=dept_x, now=at("2026-02-27", 10))
    cases.return_case(bounced, by=dept_x_user, reason="不属于本部门", now=at("2026-03-02", 10))
    cases.assign(bounced, by=county_a, department=dept_y, now=at("2026-03-03", 10))
    cases.reassign(bounced, by=county_a, department=dept_x, now=at("2026-03-05", 10))
    bounced.refresh_from_db()
    assert bounced.first_assigned_at == at("2026-02-27", 10)

    received = at("2026-03-02", 9)
    twice = make_case(received_at=received, now=received)
    cases.assign(twice, by=county_a, department=dept_y, now=at("2026-03-02", 11))
    cases.resolve(twice, by=dept_y_user, result="已协调解决", evidence=[_pdf()], now=at("2026-03-10", 15))
    cases.reopen(twice, by=county_a, reason="企业不满意", now=at("2026-03-20", 9))
    cases.resolve(twice, by=dept_y_user, result="再次协调解决", evidence=[_pdf()], now=at("2026-04-08", 15))

    never = make_case(received_at=at("2026-03-04", 9), now=at("2026-03-04", 9))
    assert Case.objects.get(pk=never.pk).first_assigned_at is None
    _assert_kept_column_matches_ledger()

    months = [periods.parse(f"2026-{m:02d}") for m in (2, 3, 4, 5)]
    assert _assert_same_figures([region_a, region_b, city], [*months, periods.parse("2026-Q1")]) == 15
    march = drafting.compute(region_a, periods.parse("2026-03"))["figures"]
    # Open at the end of March: the rerouted one, the reopened one, the never-routed one.
    assert (march["assigned"], march["closed"], march["open"]) == (1, 1, 3)


def _pdf():
    from tests.conftest import pdf_file

    return pdf_file()
