"""The database-level guard that makes ledger rows append-only, per database vendor.

Used by migration 0002 and by the test helper that empties the table between transactional tests.
TRUNCATE stays possible on PostgreSQL: it is the DBA's tool (and Django's test flush), not a
path any application code takes.
"""

TABLE = "ledger_ledgerentry"

CREATE = {
    "postgresql": [
        f"""
        CREATE OR REPLACE FUNCTION ledger_entry_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'ledger entries are append-only: % refused on {TABLE}', TG_OP
                USING ERRCODE = 'integrity_constraint_violation';
        END;
        $$ LANGUAGE plpgsql;
        """,
        f"""
        CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION ledger_entry_append_only();
        """,
    ],
    "sqlite": [
        f"""
        CREATE TRIGGER IF NOT EXISTS ledger_entry_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only: UPDATE refused'); END;
        """,
        f"""
        CREATE TRIGGER IF NOT EXISTS ledger_entry_no_delete BEFORE DELETE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only: DELETE refused'); END;
        """,
    ],
}

DROP = {
    "postgresql": [
        f"DROP TRIGGER IF EXISTS ledger_entry_append_only ON {TABLE};",
        "DROP FUNCTION IF EXISTS ledger_entry_append_only();",
    ],
    "sqlite": [
        "DROP TRIGGER IF EXISTS ledger_entry_no_update;",
        "DROP TRIGGER IF EXISTS ledger_entry_no_delete;",
    ],
}


def statements(kind: dict, vendor: str) -> list[str]:
    if vendor not in kind:
        raise RuntimeError(f"The ledger's append-only triggers are not written for {vendor}.")
    return kind[vendor]


def create(connection) -> None:
    with connection.cursor() as cursor:
        for sql in statements(CREATE, connection.vendor):
            cursor.execute(sql)


def drop(connection) -> None:
    with connection.cursor() as cursor:
        for sql in statements(DROP, connection.vendor):
            cursor.execute(sql)
