"""Reads that may lag the primary by a moment go to the streaming replica, when there is one.

``DATABASE_REPLICA_URL`` set: settings add the ``replica`` alias and name it in
``DATABASE_REPLICA_ALIAS``. Only code that asks for it reads from the replica — the exports, the
scoring pages and charts, notice drafts' previews, search — by running inside
``reading_from_replica()`` (a context manager and a decorator) or behind ``replica_view`` (a view
decorator that also covers a streamed response's chunks, which are read after the view returns).
Everything else reads the primary; every write goes to the primary; and any read made while a
transaction is open on the primary (a transition: lock, check, save, ledger append) stays on the
primary, so a service never decides on a replica's stale row. Without a replica every read is
the primary's and these helpers do nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_replica_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)


def replica_alias() -> str | None:
    """The replica's database alias, or None when this deployment has none."""
    alias = getattr(settings, "DATABASE_REPLICA_ALIAS", None)
    return alias if alias and alias in settings.DATABASES else None


def reads_go_to_replica() -> bool:
    return bool(replica_alias() and _replica_reads.get() and not connections[DEFAULT_DB_ALIAS].in_atomic_block)


@contextmanager
def reading_from_replica() -> Iterator[None]:
    """Reads inside go to the replica (outside a transaction on the primary)."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def _chunks_from_replica(chunks) -> Iterator:
    iterator = iter(chunks)
    while True:
        # Set around each chunk only: between chunks the server's own code runs unrouted.
        with reading_from_replica():
            try:
                chunk = next(iterator)
            except StopIteration:
                return
        yield chunk


def replica_view(view):
    """A read-only view (GET/HEAD) reads from the replica, its streamed body included; any other
    method is left on the primary."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in SAFE_METHODS or replica_alias() is None:
            return view(request, *args, **kwargs)
        with reading_from_replica():
            response = view(request, *args, **kwargs)
        if getattr(response, "streaming", False):
            response.streaming_content = _chunks_from_replica(response.streaming_content)
        return response

    return wrapper


class PrimaryReplicaRouter:
    """Writes and unmarked reads: the primary. Marked reads outside a transaction: the replica."""

    def db_for_read(self, model, **hints):
        return replica_alias() if reads_go_to_replica() else DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two doors

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS
