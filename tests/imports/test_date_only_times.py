"""Ledgers often give 交办时间 or 办结时间 as a date only. One on the same day as the event before it
is that event's time — the row imports (both write paths) and the chain's times never go back."""

import pytest

from cases.importing import run_import
from cases.models import Case
from ledger.completeness import lacks
from ledger.models import LedgerEntry

from .conftest import row

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("write_path", ["bulk", "services"])
def test_a_date_only_routing_and_closing_on_the_day_of_receipt_import_in_order(write_csv, city_user, write_path):
    path = write_csv([row(受理时间="2025-03-13 09:36", 交办时间="2025-03-13", 办结时间="2025-03-13")])
    summary = run_import(path, by=city_user, dry_run=False, write_path=write_path)
    assert summary["created"] == 1 and not summary["errors"]
    case = Case.objects.get()
    entries = list(LedgerEntry.objects.filter(case=case).order_by("seq"))
    times = [entry.occurred_at for entry in entries]
    assert times == sorted(times) and times[0] == case.received_at
    assert lacks(case.number, entries) == []  # non-decreasing times: a complete ledger


def test_a_date_only_time_on_an_earlier_day_is_still_refused(write_csv, city_user):
    path = write_csv([row(受理时间="2025-03-13 09:36", 交办时间="2025-03-12")])
    summary = run_import(path, by=city_user, dry_run=True)
    assert [e["column"] for e in summary["errors"]] == ["交办时间"]
