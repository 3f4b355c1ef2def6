"""The pipelined bulk import (PostgreSQL, the import its own outermost transaction): each batch's
rows written by a thread of ours on the import's connection while the next batch is built, the
next batch's reads on a second connection. It writes what the services write; a write that
fails in the pipeline fails the whole import, with nothing left behind — no rows, no thread, no
connection. Needs PostgreSQL and committed transactions (the lookups' connection sees only those).
"""

from __future__ import annotations

import sys
import threading
import time

import pytest
import time_machine
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils.translation import gettext

from cases.importing import bulk, run_import, tables
from cases.importing.tables import TableWriter
from cases.models import Case, Enterprise, Evidence
from cases.search import routing_model
from ledger.models import LedgerEntry

from .test_bulk_matches_services import (
    NOW,
    _file,
    _import_and_roll_back,
    _snapshot,
    recurring_rows,
    starting_state,  # noqa: F401 - a fixture
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pipelines(monkeypatch) -> list:
    """Whether each bulk writer made was pipelined, then the ids its tables reserved and did not
    take; small batches, so many are in flight."""
    made: list = []
    real_init = bulk.BulkWriter.__init__

    def init(self, **kwargs):
        real_init(self, **kwargs)
        made.append(self.tables._copier is not None)

    monkeypatch.setattr(bulk.BulkWriter, "__init__", init)
    real_close = tables.TableWriter.close

    def close(self):
        made.append(
            {table: ids for table, ids in self._reserved.items() if ids} | ({"asked": 1} if self._reserving else {})
        )
        real_close(self)

    monkeypatch.setattr(tables.TableWriter, "close", close)
    monkeypatch.setattr(bulk, "BATCH_ROWS", 3)
    monkeypatch.setattr(routing_model, "BULK_ROWS_IN_MEMORY", 5)
    return made


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith(("import-copy", "import-lookups"))}


def _backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_a_pipelined_import_writes_what_the_services_write(starting_state, tmp_path, pipelines):  # noqa: F811
    rows = recurring_rows(31)
    path = _file(tmp_path, rows, as_workbook=False)
    with time_machine.travel(NOW, tick=False):
        by_services = _import_and_roll_back(path, starting_state, "services")
        rolled_back = _import_and_roll_back(path, starting_state, "bulk")  # inside a transaction: no pipeline
        assert pipelines == [False, {}]
        backends, switch_interval = _backends(), sys.getswitchinterval()
        summary = run_import(path, by=starting_state, dry_run=False, write_path="bulk")
    # Pipelined; and every id reserved for a batch was taken by it: none skipped, as the services.
    assert pipelines == [False, {}, True, {}]
    assert summary == by_services[0] == rolled_back[0]
    assert by_services[0]["errors"] == [] and by_services[0]["created"] == len(rows)
    state = _snapshot()
    for part in by_services[1]:
        assert state[part] == by_services[1][part], part
    assert state["verify"] == [] and len(state["cases"]) == len(rows) + 1
    assert not _threads()
    assert _backends() == backends  # the lookups' connection is closed
    assert sys.getswitchinterval() == switch_interval  # put back


def test_a_write_failing_in_the_pipeline_fails_the_import_and_leaves_nothing(starting_state, tmp_path, pipelines):  # noqa: F811
    """The third batch's ledger entries collide with an entry on record (its hash is unique): the
    COPY fails in our thread while the import builds the next batch; the import stops there, says
    so, and rolls back — the batches written before included."""
    path = _file(tmp_path, recurring_rows(31), as_workbook=False)
    cases_before, entries_before = Case.objects.count(), LedgerEntry.objects.count()
    enterprises_before = sorted(Enterprise.objects.values_list("credit_code", "name"))
    taken = LedgerEntry.objects.values_list("hash", flat=True).first()
    real_insert_rows = tables.TableWriter.insert_rows
    copied: list[int] = []

    def insert_rows(self, model, columns, rows):
        if model is LedgerEntry:
            copied.append(len(rows))
            if len(copied) == 3:
                rows = [list(row) for row in rows]
                rows[0][columns.index("hash")] = taken
        return real_insert_rows(self, model, columns, rows)

    tables.TableWriter.insert_rows = insert_rows
    try:
        backends = _backends()
        with time_machine.travel(NOW, tick=False):
            summary = run_import(path, by=starting_state, dry_run=False, write_path="bulk")
    finally:
        tables.TableWriter.insert_rows = real_insert_rows
    assert pipelines[0] is True
    assert 3 <= len(copied) < 11  # it stopped soon after, not at the end of the file (11 batches)
    conflict = gettext("The import conflicts with a change made at the same time; nothing was imported. Try again.")
    assert [error["message"] for error in summary["errors"]] == [conflict]
    assert Case.objects.count() == cases_before and LedgerEntry.objects.count() == entries_before
    assert sorted(Enterprise.objects.values_list("credit_code", "name")) == enterprises_before
    assert not _threads()
    assert _backends() == backends
    with transaction.atomic():  # the connection is usable again
        assert Case.objects.filter(ref="EXIST-1").exists()


def test_an_interrupt_while_stopping_the_writing_thread_writes_nothing_after_the_rollback(
    starting_state,  # noqa: F811
    tmp_path,
    pipelines,
    monkeypatch,
):
    """A failure in the import's own thread with writes still queued behind a slow database, then
    a second interrupt (Ctrl-C, Celery's soft time limit) while the writing thread is stopped: the
    transaction rolls back at once, and not one queued write runs after it (they would run in
    autocommit, each committing)."""
    path = _file(tmp_path, recurring_rows(31), as_workbook=False)
    cases_before, enterprises_before = Case.objects.count(), Enterprise.objects.count()
    real_run = tables._Copier._run

    def slow_run(self):  # a slow database: our thread stays behind
        real_get = self.jobs.get

        def get(*args, **kwargs):
            job = real_get(*args, **kwargs)
            time.sleep(0.3)
            return job

        self.jobs.get = get
        return real_run(self)

    monkeypatch.setattr(tables._Copier, "_run", slow_run)
    batches: list[int] = []
    real_write_batch, real_insert = bulk.BulkWriter._write_batch, tables.TableWriter.insert

    def write_batch(self, rows, on_record):
        batches.append(len(rows))
        if len(batches) == 2:
            self.tables.wait()  # the first batch written, in the transaction
        return real_write_batch(self, rows, on_record)

    def insert(self, model, objects):
        if len(batches) == 2 and model is Evidence:
            raise RuntimeError("a failure in the import's own thread, the batch's cases handed on")
        return real_insert(self, model, objects)

    monkeypatch.setattr(bulk.BulkWriter, "_write_batch", write_batch)
    monkeypatch.setattr(tables.TableWriter, "insert", insert)
    threads = []
    real_close = tables._Copier.close

    def close(self):
        threads.append(self.thread)
        self.thread.join = lambda *args: (_ for _ in ()).throw(KeyboardInterrupt)  # the second Ctrl-C
        real_close(self)

    monkeypatch.setattr(tables._Copier, "close", close)
    with time_machine.travel(NOW, tick=False), pytest.raises(KeyboardInterrupt):
        run_import(path, by=starting_state, dry_run=False, write_path="bulk")
    threading.Thread.join(threads[0], 30)  # what was queued has had every chance to run
    assert not threads[0].is_alive()
    assert Case.objects.count() == cases_before and Enterprise.objects.count() == enterprises_before
    assert not connection.execute_wrappers and not _threads()


def test_a_failure_while_the_writer_is_made_leaves_no_thread_and_no_wrapper(starting_state, tmp_path, monkeypatch):  # noqa: F811
    path = _file(tmp_path, recurring_rows(5), as_workbook=False)

    def lookups_refused():
        raise OperationalError("too many clients already")

    monkeypatch.setattr(tables, "_Lookups", lookups_refused)
    with time_machine.travel(NOW, tick=False), pytest.raises(OperationalError):
        run_import(path, by=starting_state, dry_run=False, write_path="bulk")
    assert not _threads() and not connection.execute_wrappers
    assert not Case.objects.filter(ref__startswith="AHEAD-").exists()


def test_a_lock_failing_when_the_import_starts_leaves_no_thread_and_no_wrapper(starting_state, tmp_path, monkeypatch):  # noqa: F811
    """The routing model locks its regions' rows on ``bulk_import_starting`` (a lock may time out or
    deadlock): sent before the writer's threads are started, a failure there leaves none behind."""
    from cases.search import routing_model

    path = _file(tmp_path, recurring_rows(5), as_workbook=False)
    switch = sys.getswitchinterval()

    def timed_out(region_id, moment):
        raise OperationalError("canceling statement due to statement timeout")

    monkeypatch.setattr(routing_model, "_learning", timed_out)
    with time_machine.travel(NOW, tick=False), pytest.raises(OperationalError):
        run_import(path, by=starting_state, dry_run=False, write_path="bulk")
    assert not _threads() and not connection.execute_wrappers
    assert sys.getswitchinterval() == switch


def test_a_write_made_here_raises_djangos_error_and_is_seen_by_its_wrappers(starting_state):  # noqa: F811
    """Not pipelined (inside a caller's transaction, or SQLite): an UPDATE goes through Django's
    cursor, so the import's handlers see Django's IntegrityError and query capture sees it."""
    from django.test.utils import CaptureQueriesContext

    enterprise = Enterprise.objects.get(credit_code__isnull=False, name="旧名称企业")
    enterprise.name = "新名称"
    with transaction.atomic():
        with CaptureQueriesContext(connection) as captured:
            TableWriter().update(Enterprise, [enterprise], ["name"])
        assert any("UPDATE" in query["sql"] for query in captured.captured_queries)
        enterprise.name = None
        with pytest.raises(IntegrityError), transaction.atomic():
            TableWriter().update(Enterprise, [enterprise], ["name"])
