"""Two imports of overlapping counties, in opposite orders, at the same time: they serialise on
the regions' locks (taken up front, in id order) instead of deadlocking.

Import A lists 浉河区 then 平桥区, import B 平桥区 then 浉河区. Each pauses after writing its
first row until the other has written its own (or three seconds pass): taking each region's
lock as its first row comes up, that is the deadlock — A holds 浉河区 and wants 平桥区, B the
reverse — and PostgreSQL aborts one import (the second test shows it still would). With every
lock taken before the first row, B waits for A to commit and both import everything. Needs
PostgreSQL (row locks across connections); both write paths.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connections
from django.utils.translation import gettext

from cases.importing import bulk, engine
from cases.models import Case, Department

from .conftest import row

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RENDEZVOUS_SECONDS = 3
CONFLICT = "The import conflicts with a change made at the same time; nothing was imported. Try again."


def _rows(name: str, codes: list[str]) -> list[list[str]]:
    """Two rows per county, alternating the counties in the order given."""
    return [
        row(**{"编号": f"{code}-2025-{name}{n}", "县区代码": code, "企业名称": f"信阳示例{name}{n}有限公司"})
        for n in (1, 2)
        for code in codes
    ]


def _import_both(write_csv, city_user, monkeypatch, write_path: str) -> dict[str, dict]:
    files = {
        "A": write_csv(_rows("A", ["411502", "411503"]), name="a.csv"),
        "B": write_csv(_rows("B", ["411503", "411502"]), name="b.csv"),
    }
    monkeypatch.setattr(bulk, "BATCH_ROWS", 1)  # the bulk path numbers (and locks) row by row too
    wrote_first = {name: threading.Event() for name in files}
    original_row = engine._Writing.row
    written: dict[str, int] = {}

    def row_then_rendezvous(self, parsed, sheet):
        original_row(self, parsed, sheet)
        name = threading.current_thread().name
        written[name] = written.get(name, 0) + 1
        if written[name] == 1:
            wrote_first[name].set()
            other = "B" if name == "A" else "A"
            wrote_first[other].wait(timeout=RENDEZVOUS_SECONDS)

    monkeypatch.setattr(engine._Writing, "row", row_then_rendezvous)
    results: dict[str, dict] = {}
    failures: dict[str, BaseException] = {}
    start = threading.Barrier(2)

    def run(name):
        try:
            start.wait(timeout=10)
            results[name] = engine.run_import(files[name], by=city_user, dry_run=False, write_path=write_path)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            failures[name] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(name,), name=name) for name in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert not any(thread.is_alive() for thread in threads)
    return results


@pytest.mark.parametrize("write_path", ["bulk", "services"])
def test_overlapping_imports_in_opposite_orders_serialise(write_csv, city_user, monkeypatch, write_path):
    results = _import_both(write_csv, city_user, monkeypatch, write_path)

    for name in ("A", "B"):
        assert results[name]["errors"] == [], results[name]["errors"]
        assert results[name]["created"] == 4
    for code in ("411502", "411503"):
        cases = Case.objects.filter(region__code=code)
        assert sorted(cases.values_list("ref", flat=True)) == sorted(
            f"{code}-2025-{name}{n}" for name in "AB" for n in (1, 2)
        )
        # Numbered once each, without gaps: one import after the other.
        assert sorted(cases.values_list("serial", flat=True)) == [1, 2, 3, 4]


def test_without_the_up_front_locks_the_same_imports_deadlock(write_csv, city_user, monkeypatch, region_a, region_b):
    """The interleaving above is a real deadlock when each region is locked as its first row comes
    up: PostgreSQL aborts one import, which says so and keeps nothing; the other imports. (The
    departments exist already: unlocked, two imports creating the same one collide first.)"""
    for region in (region_a, region_b):
        Department.objects.create(name="县人社局", region=region)
    monkeypatch.setattr(engine, "lock_regions", lambda region_ids: [])
    results = _import_both(write_csv, city_user, monkeypatch, "services")

    outcomes = sorted((result["created"], [e["message"] for e in result["errors"]]) for result in results.values())
    assert outcomes == [(0, [gettext(CONFLICT)]), (4, [])]
    assert Case.objects.count() == 4
