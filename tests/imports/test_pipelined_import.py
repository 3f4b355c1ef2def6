"""The pipelined bulk import (PostgreSQL, the import its own outermost transaction): each batch's
rows written by a thread of ours on the import's connection while the next batch is built, the
next batch's reads on a second connection. It writes what the services write; a write that
fails in the pipeline fails the whole import, with nothing left behind — no rows, no thread, no
connection. Needs PostgreSQL and committed transactions (the lookups' connection sees only those).
"""

from __future__ import annotations

import threading

import pytest
import time_machine
from django.db import connection, transaction
from django.utils.translation import gettext

from cases.importing import bulk, run_import, tables
from cases.models import Case, Enterprise
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
        backends = _backends()
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
