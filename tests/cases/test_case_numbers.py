"""Case numbers are never reused: a per-region, per-year counter hands them out."""

import importlib
import threading

import pytest
from django.apps import apps
from django.db import close_old_connections

from cases import services
from cases.models import Case, CaseNumberCounter
from tests.tampering import behind_the_triggers


def _delete_behind_the_triggers(case):
    behind_the_triggers("DELETE FROM ledger_ledgerentry WHERE case_id = %s", [case.pk])
    Case.objects.filter(pk=case.pk).delete()


def test_numbers_follow_the_counter(make_case, region_a):
    first, second = make_case(), make_case()
    assert (first.serial, second.serial) == (1, 2)
    assert CaseNumberCounter.objects.get(region=region_a, year=second.year).last_serial == 2


def test_deleting_the_newest_case_does_not_free_its_number(make_case, region_a):
    make_case()
    newest = make_case()
    _delete_behind_the_triggers(newest)
    following = make_case()
    assert following.serial == newest.serial + 1
    assert following.number != newest.number


def test_cases_written_around_the_services_do_not_collide_with_the_counter(make_case, region_a):
    """A bulk load (generate_load, an old import) may write cases directly; the highest serial on
    record is the backstop."""
    first = make_case()
    CaseNumberCounter.objects.filter(region=region_a).update(last_serial=0)
    assert make_case().serial == first.serial + 1


def test_migration_backfills_counters_from_existing_cases(make_case, region_a):
    make_case()
    newest = make_case()
    CaseNumberCounter.objects.all().delete()
    migration = importlib.import_module("cases.migrations.0008_case_number_counter")
    migration.backfill(apps, None)
    assert CaseNumberCounter.objects.get(region=region_a, year=newest.year).last_serial == newest.serial


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_intakes_after_a_deletion_take_distinct_new_numbers(
    make_case, county_a, region_a, category, channel
):
    make_case()
    newest = make_case()
    _delete_behind_the_triggers(newest)
    barrier = threading.Barrier(6)
    errors = []

    def create():
        try:
            barrier.wait(timeout=10)
            services.create_case(
                by=county_a,
                region=region_a,
                enterprise_name="并发企业",
                credit_code_value="914115683BJ1XG612H",
                category=category,
                channel=channel,
                description="并发受理",
            )
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    serials = sorted(Case.objects.filter(region=region_a).values_list("serial", flat=True))
    assert serials == [1, 3, 4, 5, 6, 7, 8]
    assert CaseNumberCounter.objects.get(region=region_a, year=newest.year).last_serial == 8
