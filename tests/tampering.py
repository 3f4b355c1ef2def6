"""Changing ledger rows as someone with DDL rights could: the append-only triggers off, the write,
the triggers on again. For the tests that show tampering is found."""

from __future__ import annotations

from django.db import connection

from ledger import db_triggers


def behind_the_triggers(sql: str, params=()) -> None:
    db_triggers.drop(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    finally:
        db_triggers.create(connection)
