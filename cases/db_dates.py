"""Dates PostgreSQL holds and Python cannot: read them as the nearest date Python has.

PostgreSQL stores timestamps from 4713 BC; Python's datetime starts at year 1. A receipt time of
``0001-01-01T00:00:00+08:00`` is 1 BC in UTC, and before the input boundary
(``cases.input_rules.receipt_problem``) refused such times one could be stored; from then on every
query that loaded the row — the dashboard, the 台帐, the API list — failed with "timestamp too
small". Rather than fail every page, such a value loads as the first (or last) moment Python
knows, which every page shows as what it is: a date no one can have meant, to be corrected.
"""

from __future__ import annotations

import datetime as dt

from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from django.db.backends.signals import connection_created
from psycopg import DataError
from psycopg.types.datetime import DateLoader

EARLIEST = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
# A day short of the end, so that converting it to local time cannot overflow.
LATEST = dt.datetime(9999, 12, 30, tzinfo=dt.UTC)


def _too_early(data, error: Exception) -> bool:
    return b"BC" in bytes(data) or "small" in str(error)


class ClampedTzLoader(BaseTzLoader):
    timezone = dt.UTC  # the connection's zone under USE_TZ, so Django keeps this loader

    def load(self, data):
        try:
            return super().load(data)
        except DataError as error:
            return EARLIEST if _too_early(data, error) else LATEST


class ClampedDateLoader(DateLoader):
    def load(self, data):
        try:
            return super().load(data)
        except DataError as error:
            return EARLIEST.date() if _too_early(data, error) else LATEST.date()


def clamp_out_of_range_dates(sender, connection, **kwargs) -> None:
    if connection.vendor != "postgresql":
        return
    connection.connection.adapters.register_loader("timestamptz", ClampedTzLoader)
    connection.connection.adapters.register_loader("date", ClampedDateLoader)


def connect() -> None:
    connection_created.connect(clamp_out_of_range_dates, dispatch_uid="cases.db_dates")
