"""A bulk import makes no reference cycles of its own, so the garbage collector may run less often
while it writes (``tables.fewer_collections``), without the import's memory growing for it."""

import gc

import pytest

from cases.importing import engine, run_import
from cases.importing import tables as tables_module
from cases.models import Case, Evidence
from ledger.models import LedgerHead

pytestmark = pytest.mark.django_db


@pytest.fixture
def collector_saving_garbage():
    before = gc.isenabled()
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if before:
            gc.enable()


def test_the_rows_written_leave_no_cycle_behind(examples, city_user, collector_saving_garbage):
    summary = run_import(examples / "ledger-example.csv", by=city_user, dry_run=False, write_path="bulk")
    assert summary["created"] == 30 and Evidence.objects.exists()
    gc.collect()
    cyclic = {type(obj).__name__ for obj in gc.garbage} & {"Case", "LedgerHead", "LedgerEntry", "Evidence", "FieldFile"}
    assert cyclic == set()


def test_the_collector_runs_less_often_while_checking_and_writing_and_as_before_afterwards(
    examples, city_user, monkeypatch
):
    before = gc.get_threshold()
    checking, writing = [], []
    original_row, original_insert = engine._Validation.row, tables_module.TableWriter.insert

    def row(self, *args):
        checking.append(gc.get_threshold()[0])
        return original_row(self, *args)

    def insert(self, model, objects):
        writing.append(gc.get_threshold()[0])
        return original_insert(self, model, objects)

    monkeypatch.setattr(engine._Validation, "row", row)
    monkeypatch.setattr(tables_module.TableWriter, "insert", insert)
    run_import(examples / "ledger-example.csv", by=city_user, dry_run=False, write_path="bulk")
    raised = max(before[0], tables_module.IMPORT_GC_THRESHOLD)
    assert checking and set(checking) == {raised} and writing and set(writing) == {raised}
    assert gc.get_threshold() == before
    assert Case.objects.count() == 30 and LedgerHead.objects.count() == 30
