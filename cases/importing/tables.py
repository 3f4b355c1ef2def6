"""Rows straight into tables for the bulk import: COPY on PostgreSQL, executemany on SQLite.

Ids are handed out before the rows are written (from the table's own sequence on PostgreSQL; on
SQLite, whose import transaction holds the database's write lock, after the highest id and the
AUTOINCREMENT counter), so a batch knows its cases' and evidence's ids before it hashes the
ledger entries that name them — the same ids, in the same order, the services would have taken.

Pipelined (PostgreSQL, an import that is its own outermost transaction): the rows are written by
a thread of ours (``_Copier``) on the import's own connection — the same transaction — while the
import builds its next batch, so the database's work on one batch and Python's on the next take
the two cores at once instead of turns. The reads the next batch needs meanwhile (ids from the
sequences, the numbers and enterprises on record) go to a connection of their own (``_Lookups``,
autocommit): none of them needs a row of the import's own (the import remembers those), and a
read on the import's connection would wait for the rows ahead of it. Any other query on the
import's connection waits until every row handed on before it is written (an execute wrapper),
so it sees them, as it would have without a pipeline; and a failed COPY fails the import at the
next row handed on or query made.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import queue
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from operator import itemgetter

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from psycopg import pq
from psycopg.types.json import set_json_dumps

from ledger import json_text

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

# Writes handed on and not yet written, at most (a batch hands on about ten): about one batch's
# rows waiting while the one before is written, no more in memory.
PIPELINE_JOBS = 12
PIPELINE_SWITCH_SECONDS = 0.001

# Allocations between the cyclic garbage collector's youngest collections while a bulk import
# writes (Python's default is 700; counted net of the objects freed meanwhile). An import
# allocates millions of short-lived objects (rows, instances, their dicts) and makes no cycles of
# its own (``BulkWriter`` breaks the one a one-to-one cache makes): at 700 a 30,000-row import ran
# 26 full collections over everything the process holds — 4.1 s of its 18 s; at 20,000 none, but
# 65 young ones over a batch's live objects (1.0 s); at 200,000, more than a batch holds at once,
# 3 (0.03 s: 13.2 → 11.9 s of CPU). Garbage in cycles made meanwhile (by anything else in the
# process) waits at most that many objects for its collection.
IMPORT_GC_THRESHOLD = 200_000


def _sqlite_datetime(value: dt.datetime | None) -> str | None:
    """As ``DatabaseOperations.adapt_datetimefield_value`` on SQLite with USE_TZ: naive UTC text."""
    return None if value is None else str(value.astimezone(dt.UTC).replace(tzinfo=None))


def _date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _json(value) -> str:
    # JSONField.get_db_prep_value: json.dumps with the field's encoder (none here).
    return json.dumps(value)


# The same value for PostgreSQL's COPY, which reads the text into jsonb: ``json.dumps(value,
# ensure_ascii=False)``, its characters as they are, not escaped (a Chinese text escaped is six
# times as long).
_jsonb = json_text.encoder(sort_keys=False, separators=(", ", ": "))


def converter(field: models.Field, postgres: bool):
    """How a value of ``field`` goes to the driver: None when as it is (a JSON value on PostgreSQL:
    the binary COPY's jsonb dumper writes it, by ``_jsonb``)."""
    if isinstance(field, models.JSONField):
        if field.encoder is not None:
            return lambda value: field.get_db_prep_save(value, connection)
        return None if postgres else _json
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


_collections_lock = threading.Lock()
_collections_held = 0  # imports of this process inside ``fewer_collections`` now
_collections_before: tuple[int, ...] = ()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Around an import's checking pass and a bulk import's write pass: the garbage collector's
    youngest generation collected every ``IMPORT_GC_THRESHOLD`` allocations instead of 700
    (checking 100,000 rows spent a tenth of its CPU in collections). The setting is the process's:
    the first import in raises it, the last one out puts back what the first found — two imports
    overlapping in one process (the API's, two web threads) do not leave it raised."""
    global _collections_held, _collections_before
    with _collections_lock:
        if _collections_held == 0:
            _collections_before = gc.get_threshold()
            gc.set_threshold(max(_collections_before[0], IMPORT_GC_THRESHOLD), *_collections_before[1:])
        _collections_held += 1
    try:
        yield
    finally:
        with _collections_lock:
            _collections_held -= 1
            if _collections_held == 0:
                gc.set_threshold(*_collections_before)


class _Copier:
    """Our thread that runs the writes handed to it (``_write_rows``' jobs), in order, on the
    import's connection; ``drain`` waits until all are done. The first failure is kept (the rest
    are skipped: the transaction is aborted) and raised to the import by ``put`` and ``drain`` as
    Django's own error (``wrap_database_errors``). Nothing is ever written outside the import's
    transaction: once ``close`` begins no job starts (the one under way holds the connection, so
    a rollback waits for it), and a job finding no transaction open fails instead."""

    def __init__(self, wrapper) -> None:
        self.wrapper = wrapper  # the import's Django connection (the object, not the per-thread proxy)
        self.raw = wrapper.connection  # its psycopg connection (thread-safe: one query at a time)
        self.jobs: queue.Queue = queue.Queue(maxsize=PIPELINE_JOBS)
        self.error: BaseException | None = None
        self.closing = False
        self.thread = threading.Thread(target=self._run, name="import-copy", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                job = self.jobs.get(timeout=0.5)
            except queue.Empty:
                if self.closing:
                    return
                continue
            try:
                if job is None:
                    return
                if self.error is None and not self.closing:
                    if self.raw.info.transaction_status not in _IN_A_TRANSACTION:
                        raise RuntimeError("the import's transaction is over: nothing is written outside it")
                    with self.wrapper.wrap_database_errors, self.raw.cursor() as cursor:
                        _write_rows(cursor, *job)
            except BaseException as error:  # noqa: BLE001 - handed to the import's thread
                self.error = error
            finally:
                self.jobs.task_done()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def put(self, job: tuple) -> None:
        self._raise()
        self.jobs.put(job)

    def drain(self) -> None:
        self.jobs.join()
        self._raise()

    def close(self) -> None:
        """Stop the thread: no further job starts (raises nothing)."""
        self.closing = True
        try:
            self.jobs.put_nowait(None)  # wakes it now (else it sees ``closing`` within half a second)
        except queue.Full:
            pass
        self.thread.join()


_IN_A_TRANSACTION = (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR, pq.TransactionStatus.ACTIVE)


def _write_rows(cursor, kind: str, sql: str, data: list, types: list[int] | None = None) -> None:
    """A COPY of rows (``copy``: binary, the columns of these type oids) or an ``executemany``
    (``many``) on a psycopg cursor."""
    if kind == "many":
        cursor.executemany(sql, data)
        return
    set_json_dumps(_jsonb, context=cursor)
    with cursor.copy(sql) as copy:
        copy.set_types(types)
        for row in data:
            copy.write_row(row)


def _column_types(table: str) -> dict[str, int]:
    """The type oid of each column of ``table``, as the database has it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped",
            [connection.ops.quote_name(table)],
        )
        return dict(cursor.fetchall())


class _Lookups:
    """Reads run on a connection of their own, autocommit, in a thread of ours (Django's
    connections are per thread), in the order asked."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-lookups")

    def submit(self, function: Callable, *args) -> Future:
        return self.pool.submit(function, *args)

    def close(self) -> None:
        self.pool.submit(connections.close_all).result()
        self.pool.shutdown()


def _next_ids(counts: dict[str, int]) -> dict[str, list[int]]:
    """That many ids from each table's sequence, in one query."""
    wanted = [(table, count) for table, count in counts.items() if count]
    ids: dict[str, list[int]] = {table: [] for table in counts}
    if not wanted:
        return ids
    # Each sequence found once, by its table (a regclass), not once per id: looked up for every
    # id, the name took the lookups' connection more time than the ids themselves.
    rows = ", ".join(["(%s, pg_get_serial_sequence(%s, 'id')::regclass, %s)"] * len(wanted))
    sql = (
        f"SELECT t.name, nextval(t.seq) FROM (VALUES {rows}) AS t(name, seq, n), "  # noqa: S608 - placeholders
        "LATERAL generate_series(1, t.n)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for table, count in wanted for value in (table, table, count)])
        for table, pk in cursor.fetchall():
            ids[table].append(pk)
    return {table: sorted(found) for table, found in ids.items()}


class TableWriter:
    """``pipelined``: rows written by our thread while the caller goes on (PostgreSQL only;
    see the module's docstring). ``close`` when done, after ``wait`` when all must be written."""

    def __init__(self, *, pipelined: bool = False):
        self.postgres = connection.vendor == "postgresql"
        self._next_id: dict[str, int] = {}
        self._reserved: dict[str, list[int]] = {}
        self._reserving: deque[Future] = deque()  # reservations asked, not yet taken into _reserved
        self._copier: _Copier | None = None
        self._lookups: _Lookups | None = None
        self._types: dict[str, dict[str, int]] = {}  # table → column → type oid (PostgreSQL)
        self._stack = ExitStack()
        if pipelined and self.postgres:
            try:
                # Foreign keys checked as each COPY writes its rows (in our thread, while the next
                # batch is built), not all at the commit, which nothing overlaps: every table is
                # written after the rows it refers to. Until the end of the import's transaction,
                # which is its own (pipelined imports only).
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                self._stack.enter_context(connection.execute_wrapper(self._after_rows_handed_on))
                # Our threads wait for the interpreter between their short turns (a COPY answered,
                # a lookup's rows): handed it every millisecond instead of every five, the import
                # waits less for them (100,000 rows: 1,380–1,430 → 1,480–1,500 rows/s).
                self._stack.callback(sys.setswitchinterval, sys.getswitchinterval())
                sys.setswitchinterval(PIPELINE_SWITCH_SECONDS)
                self._lookups = _Lookups()
                self._copier = _Copier(connections[DEFAULT_DB_ALIAS])
            except BaseException:
                self.close()
                raise

    def _after_rows_handed_on(self, execute, sql, params, many, context):
        """Any query on the import's connection: once the rows handed on before it are written."""
        if self._copier is not None:
            self._copier.drain()
        return execute(sql, params, many, context)

    def lookup(self, function: Callable, *args):
        """``function(*args)``, a read that needs none of the import's own rows: pipelined, on the
        lookups' connection (it does not wait for the rows being written); else here."""
        return self.lookup_later(function, *args).result()

    def lookup_later(self, function: Callable, *args) -> Future:
        """``lookup``, answered by the future returned: pipelined, while the caller goes on."""
        if self._lookups is not None:
            return self._lookups.submit(function, *args)
        future: Future = Future()
        try:
            future.set_result(function(*args))
        except Exception as error:  # noqa: BLE001 - raised by the future's result(), as pipelined
            future.set_exception(error)
        return future

    def wait(self) -> None:
        """Until every row handed on is written (raising what failed)."""
        if self._copier is not None:
            self._copier.drain()

    def close(self) -> None:
        """Stop our threads and close the lookups' connection, whatever happens meanwhile: after
        ``wait`` nothing is left to write; after a failure what was handed on and not begun is
        dropped before the caller rolls back. Raises nothing of its own."""
        copier, self._copier = self._copier, None
        lookups, self._lookups = self._lookups, None
        try:
            if copier is not None:
                copier.close()
        finally:
            try:
                if lookups is not None:
                    lookups.close()
            finally:
                self._stack.close()

    def _write(self, kind: str, sql: str, data: list, types: list[int] | None = None) -> None:
        """Pipelined, handed to our thread; else now: an ``executemany`` through Django's cursor
        (its execute wrappers, its errors), a COPY through the driver's, with Django's errors."""
        if self._copier is not None:
            self._copier.put((kind, sql, data, types))
            return
        with connection.cursor() as cursor:
            if kind == "many":
                cursor.executemany(sql, data)
            else:
                with connection.wrap_database_errors:
                    _write_rows(cursor.cursor, kind, sql, data, types)

    def reserve(self, counts: dict[type[models.Model], int]) -> None:
        """Ask for that many ids of each model's table, in one query (PostgreSQL; pipelined, while
        the caller goes on), for the ``allocate_ids`` that follow, in order; nothing on SQLite,
        whose ids are counted here."""
        if self.postgres and any(counts.values()):
            wanted = {model._meta.db_table: count for model, count in counts.items()}
            self._reserving.append(self.lookup_later(_next_ids, wanted))

    def allocate_ids(self, model: type[models.Model], count: int) -> list[int]:
        """``count`` new ids of the model's table, ascending: those reserved first, in order."""
        if count == 0:
            return []
        table = model._meta.db_table
        if self.postgres:
            while len(self._reserved.get(table, ())) < count and self._reserving:
                for name, ids in self._reserving.popleft().result().items():
                    self._reserved.setdefault(name, []).extend(ids)
            reserved = self._reserved.get(table, [])
            taken, self._reserved[table] = reserved[:count], reserved[count:]
            if len(taken) < count:
                taken += self.lookup(_next_ids, {table: count - len(taken)})[table]
            return taken
        if table not in self._next_id:
            with connection.cursor() as cursor:
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
        # From each instance's own values, not through the fields' descriptors: a file field's
        # would wrap its value in an object that refers back to the instance (a cycle each row).
        read = itemgetter(*(field.attname for field in fields))
        conversions = [
            (index, convert)
            for index, field in enumerate(fields)
            if (convert := converter(field, self.postgres)) is not None
        ]

        def values(obj) -> list:
            row = list(read(obj.__dict__))
            for index, convert in conversions:
                row[index] = convert(row[index])
            return row

        self.insert_rows(model, [field.column for field in fields], [values(obj) for obj in objects])

    def insert_rows(self, model: type[models.Model], columns: list[str], rows: list) -> None:
        """Rows of values for the driver, as they are, into these columns: one COPY (PostgreSQL)
        or one executemany (SQLite). On PostgreSQL the COPY is binary, each value written as its
        column's type: a value must be of the Python type the column holds — ``str`` for text,
        ``int`` for a number, a time-zone-aware ``datetime`` for a moment, a ``date`` for a date,
        the JSON value itself (not its text) for JSON — not text the database would convert."""
        if not rows:
            return
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)
        names = ", ".join(quote(column) for column in columns)
        if self.postgres:
            # Binary: about half the driver's work and the server's reading of text (a date, a
            # moment, a number as they are kept), each column typed as the table has it.
            types = self._types.get(model._meta.db_table)
            if types is None:
                types = self._types[model._meta.db_table] = self.lookup(_column_types, model._meta.db_table)
            self._write("copy", f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)", rows, [types[c] for c in columns])
        else:
            marks = ", ".join(["%s"] * len(columns))
            with connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608

    def update(self, model: type[models.Model], objects: list[models.Model], field_names: list[str]) -> None:
        """``UPDATE … WHERE id = %s`` for each object, in one ``executemany`` (pipelined by
        psycopg). Django's ``bulk_update`` builds a CASE of every row per column: a bulk import's
        thousands of routing-model rows a batch took it most of the import's time."""
        if not objects:
            return
        quote = connection.ops.quote_name
        fields = [model._meta.get_field(name) for name in field_names]
        sets = ", ".join(f"{quote(field.column)} = %s" for field in fields)
        sql = f"UPDATE {quote(model._meta.db_table)} SET {sets} WHERE id = %s"  # noqa: S608
        params = [
            [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in fields] + [obj.pk]
            for obj in objects
        ]
        self._write("many", sql, params)
