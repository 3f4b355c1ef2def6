"""The few SQL fragments that differ between PostgreSQL and SQLite.

Scoring reads the ledger "as it stood at the end of the cutoff day" with aggregates over the
ledger entries of the cases in scope; the value of a field at the latest entry is taken with the
max of a key ``zero-padded seq || value`` so one pass over the entries is enough.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.utils.translation import gettext as _

from .scope import Scope, utc_offset_hours


@dataclass(frozen=True)
class Dialect:
    vendor: str
    offset_hours: int | None

    @property
    def postgres(self) -> bool:
        return self.vendor == "postgresql"

    @property
    def join_in_order(self) -> str:
        """A join SQLite's planner takes in the order written (CROSS JOIN); PostgreSQL plans freely."""
        return "JOIN" if self.postgres else "CROSS JOIN"

    @property
    def evaluate_once(self) -> str:
        """Appended to a subquery: the database keeps it a step of its own (PostgreSQL: OFFSET 0;
        SQLite: a LIMIT), so an expression it computes is evaluated once per row rather than
        inlined into every aggregate above it that uses it."""
        return " OFFSET 0" if self.postgres else " LIMIT -1 OFFSET 0"

    def seq_key(self, column: str = "e.seq") -> str:
        if self.postgres:
            return f"lpad({column}::text, 10, '0')"
        return f"printf('%%010d', {column})"

    def latest_date_key(self, seq: str, date: str) -> str:
        """``MAX`` over entries of the date at the highest seq, as the text key ``seq_key || date``.

        On PostgreSQL the per-entry work is integer arithmetic (seq and day number packed in a
        bigint) and only the per-case maximum is turned into the text key: building and comparing
        a text key for each of millions of entries costs more than the rest of the aggregate."""
        if self.postgres:
            packed = (
                f"MAX(CASE WHEN {date} IS NOT NULL THEN {seq}::bigint * 1000000 + ({date} - DATE '1970-01-01') END)"
            )
            return (
                f"(lpad(({packed} / 1000000)::text, 10, '0') || "
                f"(DATE '1970-01-01' + ({packed} %% 1000000)::integer)::text)"
            )
        return f"MAX(CASE WHEN {date} IS NOT NULL THEN {self.seq_key(seq)} || {self.date_text(date)} END)"

    def date_text(self, column: str) -> str:
        return f"{column}::text" if self.postgres else column

    def json_text(self, column: str, key: str) -> str:
        if self.postgres:
            return f"coalesce({column}->>'{key}', '')"
        return f"coalesce(json_extract({column}, '$.{key}'), '')"

    def local_date(self, column: str, zone: str) -> str:
        """The local calendar date of a UTC timestamp column (a date; 'YYYY-MM-DD' text on SQLite)."""
        if self.postgres:
            return f"CAST({column} AT TIME ZONE '{zone}' AS date)"
        hours = self.offset_hours
        if hours is None:  # dialect_for refuses such a year on SQLite; a Dialect built by hand may not
            raise NotImplementedError(_("The local time zone changes its offset during this year."))
        sign = "+" if hours >= 0 else "-"
        return f"date({column}, '{sign}{abs(hours)} hours')"

    def key_date(self, key: str) -> str:
        """The date part of a ``seq_key || date`` key, typed as a date column is."""
        return f"CAST(substr({key}, 11) AS date)" if self.postgres else f"substr({key}, 11)"

    def key_integer(self, key: str) -> str:
        """The integer part of a ``seq_key || value`` key (null when the value is empty)."""
        return f"CAST(NULLIF(substr({key}, 11), '') AS integer)"

    def text_max(self, expression: str) -> str:
        # Byte order, not the database locale's collation, for the seq-keyed maxima.
        return f'MAX(({expression}) COLLATE "C")' if self.postgres else f"MAX({expression})"

    def joined(self, expression: str, separator: str = ",") -> str:
        if self.postgres:
            return f"string_agg({expression}, '{separator}')"
        return f"group_concat({expression}, '{separator}')"


def dialect_for(scope: Scope) -> Dialect:
    vendor = connection.vendor
    offset = utc_offset_hours(scope)
    if vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"scoring supports PostgreSQL and SQLite, not {vendor}")
    if vendor == "sqlite" and offset is None:
        raise NotImplementedError(_("The local time zone changes its offset during this year."))
    return Dialect(vendor=vendor, offset_hours=offset)


def dt_param(value):
    """A datetime as the database adapter stores it (SQLite keeps naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)
