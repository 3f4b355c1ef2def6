"""The database itself refuses to change or remove a ledger row, on SQLite and on PostgreSQL."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from ledger.models import GENESIS_HASH, LedgerEntry
from tests.tampering import behind_the_triggers

ROOT = Path(__file__).resolve().parents[2]


def _raw(sql, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_raw_update_is_refused_by_the_database(assigned_case):
    entry = LedgerEntry.objects.filter(case=assigned_case).first()
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("UPDATE ledger_ledgerentry SET action = 'forged' WHERE id = %s", [entry.pk])
    entry.refresh_from_db()
    assert entry.action == "create"


def test_raw_delete_is_refused_by_the_database(assigned_case):
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("DELETE FROM ledger_ledgerentry WHERE case_id = %s", [assigned_case.pk])
    assert LedgerEntry.objects.filter(case=assigned_case).count() == 2


def test_orm_update_and_delete_are_refused_too(assigned_case):
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            LedgerEntry.objects.filter(case=assigned_case).update(payload={})
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            LedgerEntry.objects.filter(case=assigned_case).delete()


@pytest.mark.postgres
def test_postgresql_trigger_is_installed(assigned_case):
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'ledger_ledgerentry'::regclass AND NOT tgisinternal"
        )
        assert [row[0] for row in cursor.fetchall()] == ["ledger_entry_append_only"]
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("UPDATE ledger_ledgerentry SET hash = %s", ["0" * 64])


def test_sqlite_database_built_by_the_migrations_refuses_changes(tmp_path):
    """Whatever database the suite runs on, prove the SQLite triggers from a real migrate."""
    db = tmp_path / "ledger.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}"}
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    con = sqlite3.connect(db)
    con.execute("PRAGMA foreign_keys = OFF")
    con.execute(
        "INSERT INTO ledger_ledgerentry (case_id, seq, action, from_state, to_state, actor_name, occurred_at,"
        " recorded_at, source, payload, prev_hash, hash) VALUES (1, 1, 'create', '', 'received', 'x',"
        " '2026-01-01', '2026-01-01', 'web', '{}', ?, ?)",
        (GENESIS_HASH, "a" * 64),
    )
    con.commit()
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("UPDATE ledger_ledgerentry SET action = 'forged'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("DELETE FROM ledger_ledgerentry")
    assert con.execute("SELECT action FROM ledger_ledgerentry").fetchone() == ("create",)
    con.close()


def test_verify_ledger_passes_on_an_honest_ledger(assigned_case, capsys):
    call_command("verify_ledger")
    assert "verify" in capsys.readouterr().out


def test_verify_ledger_catches_an_entry_altered_behind_the_triggers_back(assigned_case, capsys):
    entry = LedgerEntry.objects.get(case=assigned_case, seq=1)
    behind_the_triggers(
        "UPDATE ledger_ledgerentry SET payload = %s WHERE id = %s", ['{"enterprise": "伪造企业"}', entry.pk]
    )
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_ledger")
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert f"BROKEN {assigned_case.number}: entry #1 (create): hash does not match" in out


def test_verify_ledger_catches_a_removed_entry(assigned_case, dept_x_user, capsys):
    from cases import services

    services.acknowledge(assigned_case, by=dept_x_user)
    behind_the_triggers("DELETE FROM ledger_ledgerentry WHERE case_id = %s AND seq = 2", [assigned_case.pk])
    with pytest.raises(SystemExit):
        call_command("verify_ledger")
    assert "sequence gap: expected #2, found #3" in capsys.readouterr().out


def test_verify_ledger_catches_a_case_row_that_disagrees_with_its_ledger(assigned_case, capsys):
    from cases.models import Case

    # A state written around the services (the field is protected, so only raw SQL can).
    Case.objects.filter(pk=assigned_case.pk).update(state="resolved", closed_at=assigned_case.received_at)
    with pytest.raises(SystemExit):
        call_command("verify_ledger")
    assert "replays to 'assigned'" in capsys.readouterr().out


def test_verify_ledger_reports_numbers_missing_from_a_regions_sequence(make_case, capsys):
    from cases.models import Case

    make_case()
    second = make_case()
    make_case()
    # Simulate a lost case: renumber the middle one out of the sequence.
    Case.objects.filter(pk=second.pk).update(serial=7, number=second.number[:-5] + "00007")
    with pytest.raises(SystemExit):
        call_command("verify_ledger")
    out = capsys.readouterr().out
    assert "MISSING numbers in 411502" in out and second.number[:-5] + "00002" in out


def test_chain_links_each_entry_to_the_one_before(assigned_case, dept_x_user):
    from cases import services

    services.acknowledge(assigned_case, by=dept_x_user)
    entries = list(LedgerEntry.objects.filter(case=assigned_case).order_by("seq"))
    assert entries[0].prev_hash == GENESIS_HASH
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_hash == before.hash
        assert after.seq == before.seq + 1
    for entry in entries:
        assert entry.expected_hash(assigned_case.number) == entry.hash
