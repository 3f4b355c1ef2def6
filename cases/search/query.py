"""Searching cases by their Chinese words, ranked by relevance, on PostgreSQL or SQLite.

``search(queryset, text)`` narrows any case queryset — already scoped (``Case.objects.for_user``)
and filtered (the 台帐's or the API's filters) — to the cases holding every word of the query, and
orders it best first. The match and the rank are the database's own: ``@@`` and ``ts_rank`` over
the GIN-indexed tsvector on PostgreSQL, ``MATCH`` and ``bm25`` over FTS5 on SQLite. Both weigh the
case number and credit code above the enterprise name above the text (A/B/D; 10/4/1), and
both find the same cases for the same words (tests/search/test_postgres_parity.py).

The index tables are joined through ``QuerySet.extra``: they are vendor-specific FROM items
(an FTS5 virtual table; a tsvector column the model does not carry) that the ORM cannot name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from cases import credit_code
from cases.models import Case
from cases.roles import Role, role_of

from .segment import query_words

CASE_NUMBER = re.compile(r"^\d{6}-\d{4}-\d{5}$")
RANK = "search_rank"
MAX_WORDS = 12

# ts_rank's normalization 1 divides by 1 + log(document length), as bm25 discounts long texts.
_PG_WHERE = "case_search_document.vector @@ to_tsquery('simple', %s)"
_PG_RANK = "ts_rank(case_search_document.vector, to_tsquery('simple', %s), 1)"
_SQLITE_WHERE = "case_search_fts MATCH %s"
# bm25 is lower for better matches; negated so both vendors order "higher is better".
_SQLITE_RANK = "-bm25(case_search_fts, 10.0, 4.0, 1.0)"


@dataclass(frozen=True)
class Query:
    """What a search box's text asks for: an exact case number, an exact credit code, or words."""

    text: str
    number: str = ""
    credit_code: str = ""
    words: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.number or self.credit_code or self.words)


def parse(text: str | None) -> Query:
    text = (text or "").strip()
    if CASE_NUMBER.match(text):
        return Query(text, number=text)
    code = credit_code.normalize(text)
    if len(code) == 18 and not credit_code.problem(code):
        return Query(text, credit_code=code)
    return Query(text, words=tuple(query_words(text)[:MAX_WORDS]))


def _quoted(word: str) -> str:
    # Our words hold only letters and digits; the quotes keep FTS5 from reading AND/OR/NEAR in them.
    return '"' + word.replace('"', '""') + '"'


def match_expression(words, *, any_word: bool = False, vendor: str | None = None) -> str:
    """The query in the database's own syntax: every word (or any word) must occur."""
    if (vendor or connection.vendor) == "postgresql":
        return (" | " if any_word else " & ").join("'" + w.replace("'", "''") + "'" for w in words)
    return (" OR " if any_word else " AND ").join(_quoted(w) for w in words)


def scope_region(user) -> int | None:
    """The one region a user's cases all lie in (a county office's), else None."""
    if role_of(user) != Role.COUNTY_OFFICE:
        return None
    return getattr(getattr(user, "profile", None), "region_id", None)


def matching(queryset: QuerySet, words, *, any_word: bool = False, region_id: int | None = None) -> QuerySet:
    """The cases of ``queryset`` whose document holds the words, annotated ``search_rank``.

    ``region_id``: the queryset holds only that region's cases (a county's scope); the index is
    then narrowed by region before ranking (PostgreSQL combines the region and GIN indexes)."""
    expression = match_expression(words, any_word=any_word)
    table = Case._meta.db_table
    if connection.vendor == "postgresql":
        where = [f"case_search_document.case_id = {table}.id", _PG_WHERE]
        params = [expression]
        if region_id is not None:
            where.append("case_search_document.region_id = %s")
            params.append(region_id)
        return queryset.extra(
            tables=["case_search_document"],
            where=where,
            params=params,
            select={RANK: _PG_RANK},
            select_params=[expression],
        )
    return queryset.extra(
        tables=["case_search_fts"],
        where=[f"case_search_fts.rowid = {table}.id", _SQLITE_WHERE],
        params=[expression],
        select={RANK: _SQLITE_RANK},
    )


def search(queryset: QuerySet, text: str | Query, *, region_id: int | None = None) -> QuerySet:
    """The cases of ``queryset`` matching the search text, best first.

    A full case number or credit code selects exactly that case or that enterprise's cases
    (newest first); words select the cases holding all of them, by relevance, then newest."""
    query = text if isinstance(text, Query) else parse(text)
    if query.number:
        return queryset.filter(number=query.number)
    if query.credit_code:
        return queryset.filter(enterprise__credit_code=query.credit_code).order_by("-received_at", "-id")
    if not query.words:
        return queryset
    return matching(queryset, query.words, region_id=region_id).order_by(f"-{RANK}", "-received_at", "-id")
