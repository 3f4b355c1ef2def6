"""A bulk import makes no reference cycles of its own, so the garbage collector may run less often
while it writes (``tables.fewer_collections``), without the import's memory growing for it."""

import gc
import threading

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


def test_two_imports_overlapping_in_one_process_put_the_setting_back():
    """The API's imports run in web threads: the last one out restores what the first one found."""
    before = gc.get_threshold()
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def first():
        with tables_module.fewer_collections():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def second():
        a_in.wait(5)
        with tables_module.fewer_collections():
            b_in.set()
            a_out.wait(5)
            assert gc.get_threshold()[0] == max(before[0], tables_module.IMPORT_GC_THRESHOLD)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    try:
        assert a_out.is_set() and gc.get_threshold() == before
    finally:
        gc.set_threshold(*before)
