"""Rows straight into tables for the bulk import: COPY on PostgreSQL, executemany on SQLite.

Ids are handed out before the rows are written (from the table's own sequence on PostgreSQL; on
SQLite, whose import transaction holds the database's write lock, after the highest id and the
AUTOINCREMENT counter), so a batch knows its cases' and evidence's ids before it hashes the
ledger entries that name them — the same ids, in the same order, the services would have taken.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from operator import attrgetter

from django.db import connection, models

# SQLite's page cache for the import's connection while it writes (the default is 2 MB, which a
# transaction of 100,000 cases spills to the WAL again and again). 32 MB: a 20,000-row import
# measured no worse with 64 MB, a little faster in wall time, but 64 MB put a 100,000-row import's
# peak RSS at 262 MB, too near the 300 MB bound. Memory only: durability (WAL, synchronous) is
# unchanged.
SQLITE_CACHE_KIB = 32 * 1024

# Values the driver takes as they are; every other field converts through Django's own
# ``get_db_prep_save`` (files…), as ``Model.save`` would — except the three that fill most of
# every batch, whose conversion is spelled out below for speed, as Django stores them.
PLAIN_FIELDS = (models.CharField, models.TextField, models.IntegerField, models.BooleanField, models.ForeignKey)


def _sqlite_datetime(value: dt.datetime | None) -> str | None:
    """As ``DatabaseOperations.adapt_datetimefield_value`` on SQLite with USE_TZ: naive UTC text."""
    return None if value is None else str(value.astimezone(dt.UTC).replace(tzinfo=None))


def _date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _json(value) -> str:
    # JSONField.get_db_prep_value: json.dumps with the field's encoder (none here); PostgreSQL's
    # COPY reads the text into jsonb.
    return json.dumps(value)


def converter(field: models.Field, postgres: bool):
    """How a value of ``field`` goes to the driver: None when as it is."""
    if isinstance(field, models.JSONField):
        if field.encoder is not None:
            return lambda value: field.get_db_prep_save(value, connection)
        return _json
    if isinstance(field, models.DateTimeField):
        return None if postgres else _sqlite_datetime
    if isinstance(field, models.DateField):
        return None if postgres else _date
    if isinstance(field, PLAIN_FIELDS):
        return None
    return lambda value: field.get_db_prep_save(value, connection)


@contextmanager
def write_session() -> Iterator[None]:
    """Around the bulk write pass: SQLite's page cache widened (``SQLITE_CACHE_KIB``), put back
    afterwards; nothing on PostgreSQL."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB:d}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {before:d}")


class TableWriter:
    def __init__(self):
        self.postgres = connection.vendor == "postgresql"
        self._next_id: dict[str, int] = {}

    def allocate_ids(self, model: type[models.Model], count: int) -> list[int]:
        if count == 0:
            return []
        table = model._meta.db_table
        with connection.cursor() as cursor:
            if self.postgres:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
                )
                return sorted(row[0] for row in cursor.fetchall())
            if table not in self._next_id:
                cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(table)}")  # noqa: S608 - a model's table
                highest = cursor.fetchone()[0] or 0
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                row = cursor.fetchone()
                self._next_id[table] = max(highest, row[0] if row else 0) + 1
        start = self._next_id[table]
        self._next_id[table] = start + count
        return list(range(start, start + count))

    def insert(self, model: type[models.Model], objects: list[models.Model]) -> None:
        """Every concrete column of ``objects`` (ids set) in one COPY or one executemany."""
        if not objects:
            return
        fields = model._meta.concrete_fields
        read = attrgetter(*(field.attname for field in fields))
        conversions = [
            (index, convert)
            for index, field in enumerate(fields)
            if (convert := converter(field, self.postgres)) is not None
        ]
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)
        names = ", ".join(quote(field.column) for field in fields)

        def values(obj) -> list:
            row = list(read(obj))
            for index, convert in conversions:
                row[index] = convert(row[index])
            return row

        with connection.cursor() as cursor:
            if self.postgres:
                with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for obj in objects:
                        copy.write_row(values(obj))
            else:
                marks = ", ".join(["%s"] * len(fields))
                cursor.executemany(
                    f"INSERT INTO {table} ({names}) VALUES ({marks})",  # noqa: S608
                    [values(obj) for obj in objects],
                )

    def update(self, model: type[models.Model], objects: list[models.Model], field_names: list[str]) -> None:
        if not objects:
            return
        quote = connection.ops.quote_name
        fields = [model._meta.get_field(name) for name in field_names]
        sets = ", ".join(f"{quote(field.column)} = %s" for field in fields)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {quote(model._meta.db_table)} SET {sets} WHERE id = %s",  # noqa: S608
                [
                    [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in fields] + [obj.pk]
                    for obj in objects
                ],
            )
