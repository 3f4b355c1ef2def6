"""Searching cases by their Chinese words, ranked by relevance, on PostgreSQL or SQLite.

``search(queryset, text)`` narrows any case queryset — already scoped (``Case.objects.for_user``)
and filtered (the 台帐's or the API's filters) — to the cases holding every word of the query, and
orders it best first. The match and the rank are the database's own: ``@@`` and ``ts_rank`` over
the GIN-indexed tsvector on PostgreSQL, ``MATCH`` and ``bm25`` over FTS5 on SQLite. Both weigh the
case number and credit code above the enterprise name above the text (A/B/D; 10/4/1), and
both find the same cases for the same words (tests/search/test_postgres_parity.py).

The index tables are joined through ``QuerySet.extra``: they are vendor-specific FROM items
(an FTS5 virtual table; a tsvector column the model does not carry) that the ORM cannot name.

Ranking is bounded: a search ordered by relevance ranks the ``RANKED`` most recently entered
matching cases (the highest case ids: cases are entered as they are received), after every other
filter and the scope, and counts at most that many (``search_capped`` says there were more). A
common word at a million cases matches tens of thousands; ranking each would read each one's
vector (a random heap page apiece). The matching ids are found in widening windows of the newest
ids — the GIN match and the id range are combined in the index (BitmapAnd / FTS5 rowid range), so
only the window's rows are read, and the newest pages are the ones in memory. A search sorted by
another column (a table header, an export) keeps every match.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet
from django.db import connection, connections, transaction
from django.db.models import Q, QuerySet
from django.db.models.query import ModelIterable

from cases import credit_code
from cases.models import Case
from cases.scope import scope_of

from .segment import query_words

CASE_NUMBER = re.compile(r"^\d{6}-\d{4}-\d{5}$")
RANK = "search_rank"
MAX_WORDS = 12
RANKED = 1000  # a ranked search ranks (and counts) at most this many matches, the newest
FIRST_WINDOW = 8 * RANKED  # case ids of the first window looked in; each next one 8× wider
WIDEN = 8

# ts_rank's normalization 1 divides by 1 + log(document length), as bm25 discounts long texts.
_PG_WHERE = "case_search_document.vector @@ to_tsquery('simple', %s)"
_PG_RANK = "ts_rank(case_search_document.vector, to_tsquery('simple', %s), 1)"
# Several words that must all occur: the index is asked for the longest (likely the rarest) and the
# whole query checked on its rows. PostgreSQL estimates an AND of words as the product of their
# shares — far too few for words that go together (用电 增容) — and would then read every match
# instead of combining the index with the id window; one word's estimate is right. The function
# behind @@ (not indexable, so it stays a check) keeps the meaning exactly.
_PG_WHERE_ALL = (
    "case_search_document.vector @@ to_tsquery('simple', %s) "
    "AND ts_match_vq(case_search_document.vector, to_tsquery('simple', %s))"
)
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
    """The one region a user's cases all lie in (a county office's scope), else None."""
    return scope_of(user).region_id


def scope_department(user) -> int | None:
    """The department whose cases a user's scope is (a department user's), else None."""
    return scope_of(user).department_id


def matching(
    queryset: QuerySet,
    words,
    *,
    any_word: bool = False,
    region_id: int | None = None,
    department_id: int | None = None,
) -> QuerySet:
    """The cases of ``queryset`` whose document holds the words, annotated ``search_rank``.

    ``region_id``: the queryset holds only that region's cases (a county's scope); the index is
    then narrowed by region before ranking (PostgreSQL combines the region and GIN indexes).
    ``department_id``: the queryset holds only cases routed to that department (a department's
    scope); on PostgreSQL the index is narrowed by the document's departments (their GIN index
    and the words' in one bitmap), instead of checking each of the department's documents."""
    expression = match_expression(words, any_word=any_word)
    table = Case._meta.db_table
    if connection.vendor == "postgresql":
        where = [f"case_search_document.case_id = {table}.id"]
        if any_word or len(words) < 2:
            where.append(_PG_WHERE)
            params = [expression]
        else:
            where.append(_PG_WHERE_ALL)
            params = [match_expression([max(words, key=len)]), expression]
        if region_id is not None:
            where.append("case_search_document.region_id = %s")
            params.append(region_id)
        if department_id is not None:
            where.append("case_search_document.department_ids @> ARRAY[%s]::bigint[]")
            params.append(department_id)
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


# The id of the case a row is found by, on each side of the join: the window conditions name
# both, so PostgreSQL narrows the index scan of either (it does not carry a range across a join).
_ID_COLUMNS = {
    "postgresql": ("case_search_document.case_id", f"{Case._meta.db_table}.id"),
    "sqlite": ("case_search_fts.rowid", f"{Case._meta.db_table}.id"),
}


class _Windows(dict):
    """The windows found for a ranked search, by its SQL: shared by the queryset and its clones
    (the paginator counts one clone and slices another)."""


class RankedSearchMixin:
    """A QuerySet of cases matching words, ordered by relevance: evaluated (rows or count) over
    the ``RANKED`` newest matches only. Anything ordered otherwise is evaluated whole."""

    _search_windows: _Windows
    _search_limit: int
    _search_top: int | None = None
    _search_first: int | None = None

    def _clone(self):
        clone = super()._clone()
        clone._search_windows = self._search_windows
        clone._search_limit = self._search_limit
        clone._search_top = self._search_top
        clone._search_first = self._search_first
        return clone

    def _by_rank(self) -> bool:
        order = self.query.order_by
        return bool(order) and order[0] == f"-{RANK}" and RANK in self.query.extra_select

    def _plain(self) -> QuerySet:
        plain = self._chain()
        plain.__class__ = _plain_class(type(self))
        return plain

    def _unordered(self) -> tuple[QuerySet, str]:
        """The matching ids, unordered and unsliced, and their SQL (the key of the window found)."""
        unordered = self._plain()
        unordered.query.clear_limits()
        unordered = unordered.order_by().values_list("pk")
        try:
            sql, params = unordered.query.get_compiler(self.db).as_sql()
        except EmptyResultSet:  # a filter that can match nothing (an empty IN): no window to find
            return unordered, ""
        return unordered, sql + repr(params)

    def _window(self) -> tuple[tuple[int, ...], bool]:
        """The ids of the newest ``_search_limit`` matches, and whether there are more."""
        unordered, key = self._unordered()
        if not key:
            return (), False
        if key in self._search_windows:
            return self._search_windows[key]
        limit = self._search_limit
        if connection.vendor != "postgresql":
            # FTS5 walks a word's rows newest first itself and stops at the limit: no windows.
            probe = unordered.extra(order_by=["-case_search_fts.rowid"])
            ids = tuple(pk for (pk,) in probe[: limit + 1])
            found = self._search_windows[key] = (ids[:limit], len(ids) > limit)
            return found
        top = self._search_top
        if top is None:
            top = _newest_document_id(self.db)
        size = self._search_first or FIRST_WINDOW
        with _serial(self.db):
            while True:
                above = top - size
                probe = unordered.order_by("-pk")
                if above > 0:
                    probe = probe.extra(where=[f"{column} > %s" for column in _columns()], params=[above, above])
                ids = tuple(pk for (pk,) in probe[: limit + 1])
                if len(ids) > limit or above <= 0:
                    break
                # The next window: wide enough for the limit at the density seen (with a margin), at
                # least WIDEN times this one; none found here: the whole index.
                size = top if not ids else max(size * WIDEN, int(size * limit * 1.5 / len(ids)))
        found = self._search_windows[key] = (ids[:limit], len(ids) > limit)
        return found

    def _windowed(self) -> QuerySet:
        """This queryset over the ids of ``_window`` (ranked in the database: a short IN list, so the
        rank reads those rows only)."""
        plain = self._plain()
        ids, _capped = self._window()
        # Added to the query itself (the queryset may be a sliced page, which QuerySet.extra
        # refuses), as one array parameter or a list of integers: pk__in would build a thousand
        # lookups in Python on every evaluation.
        table = Case._meta.db_table
        if not ids:
            plain.query.add_q(Q(pk__in=[]))
        elif connection.vendor == "postgresql":  # both sides: each is read by its primary key
            where = [f"{table}.id = ANY(%s)", "case_search_document.case_id = ANY(%s)"]
            plain.query.add_extra(None, None, where, [list(ids), list(ids)], None, None)
        else:  # FTS5 reads the range's rows only
            listed = ", ".join(str(int(pk)) for pk in ids)
            where = [f"{table}.id IN ({listed})", "case_search_fts.rowid >= %s"]
            plain.query.add_extra(None, None, where, [min(ids)], None, None)
        return plain

    @property
    def search_capped(self) -> bool:
        """Whether more cases match than the ranked ones: known (without a query) once this search
        or a clone with the same filters was counted or fetched in relevance order; else False."""
        if not self._by_rank():
            return False
        found = self._search_windows.get(self._unordered()[1])
        return bool(found and found[1])

    @property
    def search_limit(self) -> int:
        return self._search_limit

    @property
    def counts_ranked(self) -> bool:
        """Whether ``count()`` counts the ranked window only (ordered by relevance): a paginator
        must ask this queryset, not an unordered copy of it, for its count."""
        return self._by_rank()

    def count(self) -> int:
        if self._result_cache is None and self._by_rank():
            if self.query.is_sliced:
                return self._windowed().count()
            return len(self._window()[0])
        return super().count()

    def _fetch_all(self) -> None:
        if self._result_cache is None and self._by_rank():
            with _serial(self.db):
                self._fetch_ranked()
            return
        super()._fetch_all()

    def _fetch_ranked(self) -> None:
        """The ranked rows: the window's ids ranked in the database, then the page's rows."""
        windowed = self._windowed()
        if self._iterable_class is ModelIterable and (self.query.select_related or self.query.is_sliced):
            # The page's ids first (ranked over the window's rows alone), then those rows with
            # their related rows: the joins run for one page, not for every row ranked.
            page = list(windowed.values_list("pk", flat=True))
            rows = self._plain()
            rows.query.clear_limits()
            rows = rows.order_by().filter(pk__in=page)
            if page and connection.vendor != "postgresql":
                rows = rows.extra(where=["case_search_fts.rowid >= %s"], params=[min(page)])
            rows = {row.pk: row for row in rows}
            self._result_cache = [rows[pk] for pk in page if pk in rows]
            if self._prefetch_related_lookups:
                self._prefetch_related_objects()
        else:
            windowed._fetch_all()
            self._result_cache = windowed._result_cache
        self._prefetch_done = True

    def iterator(self, chunk_size=None):
        if self._by_rank():
            return self._windowed().iterator(chunk_size=chunk_size)
        return super().iterator(chunk_size=chunk_size)


def _columns() -> tuple[str, str]:
    return _ID_COLUMNS[connection.vendor]


_newest = {"id": 0, "at": -1e9}
NEWEST_SECONDS = 60.0


@contextmanager
def _serial(using: str) -> Iterator[None]:
    """A ranked search's queries (its window probes, its ranking) without parallel workers, in a
    transaction of their own (``SET LOCAL``; not inside a caller's transaction, which the setting
    would outlast). Each is a few to 25 ms of work, which a second worker barely shortens while
    starting it costs more: at a million cases a county's widest window probe took 34–44 ms with
    one worker, 20–22 ms without (a department's, before its documents named their departments:
    77–95 ms against 46–61 ms). ``using``: the database the queries read (the replica's, when
    they go there)."""
    target = connections[using]
    if target.vendor != "postgresql" or target.in_atomic_block:
        yield  # (inside a caller's transaction SET LOCAL would outlast us)
        return
    with transaction.atomic(using=using):
        with target.cursor() as cursor:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        yield


def _newest_document_id(using: str) -> int:
    """The highest case id indexed, looked up once a minute (on the database the search reads):
    the windows have no upper bound, so cases entered since are still in the first one."""
    now = time.monotonic()
    if now - _newest["at"] > NEWEST_SECONDS:
        with connections[using].cursor() as cursor:
            cursor.execute("SELECT MAX(case_id) FROM case_search_document")
            (newest,) = cursor.fetchone()
        _newest.update(id=newest or 0, at=now)
    return int(_newest["id"])


_RANKED_CLASSES: dict[type, type] = {}


def _plain_class(cls: type) -> type:
    return next(base for base in cls.__mro__ if base is not cls and not issubclass(base, RankedSearchMixin))


def ranked(
    queryset: QuerySet, *, limit: int | None = None, top_id: int | None = None, first_window: int | None = None
) -> QuerySet:
    """``queryset`` (from ``matching``, ordered by ``search_rank`` first) evaluated over its
    ``limit`` newest matches; ``top_id``: the newest case id that can match (default: the newest
    indexed), where the windows start."""
    cls = type(queryset)
    if issubclass(cls, RankedSearchMixin):
        cls = _plain_class(cls)
    if cls not in _RANKED_CLASSES:
        _RANKED_CLASSES[cls] = type(f"Ranked{cls.__name__}", (RankedSearchMixin, cls), {})
    result = queryset._chain()
    result.__class__ = _RANKED_CLASSES[cls]
    result._search_windows = _Windows()
    result._search_limit = limit or RANKED
    result._search_top = top_id
    result._search_first = first_window
    return result


def search(
    queryset: QuerySet, text: str | Query, *, region_id: int | None = None, department_id: int | None = None
) -> QuerySet:
    """The cases of ``queryset`` matching the search text, best first.

    A full case number or credit code selects exactly that case or that enterprise's cases
    (newest first); words select the cases holding all of them, by relevance, then newest.
    ``region_id``, ``department_id``: the queryset's scope is that region's or department's (see
    ``matching``)."""
    query = text if isinstance(text, Query) else parse(text)
    if query.number:
        return queryset.filter(number=query.number)
    if query.credit_code:
        return queryset.filter(enterprise__credit_code=query.credit_code).order_by("-received_at", "-id")
    if not query.words:
        return queryset
    found = matching(queryset, query.words, region_id=region_id, department_id=department_id)
    return ranked(found.order_by(f"-{RANK}", "-received_at", "-id"))


def word_shares(words, *, region_id: int, sample: int) -> tuple[int, dict[str, float]]:
    """How common each word is in a region: the share of its ``sample`` newest documents holding
    it. Returns (how many documents were looked at, {word: share})."""
    words = list(words)
    newest = "SELECT case_id, vector FROM case_search_document WHERE region_id = %s ORDER BY case_id DESC LIMIT %s"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # one pass over the sample
            counts = "".join(", count(*) FILTER (WHERE vector @@ to_tsquery('simple', %s))" for _w in words)
            cursor.execute(
                f"SELECT count(*){counts} FROM ({newest}) newest",
                [match_expression([w]) for w in words] + [region_id, sample],
            )
            total, *found = cursor.fetchone()
        else:
            cursor.execute(
                "SELECT count(*), min(case_id) FROM (SELECT case_id FROM case_search_document "
                "WHERE region_id = %s ORDER BY case_id DESC LIMIT %s)",
                [region_id, sample],
            )
            total, low = cursor.fetchone()
            found = []
            for word in words:
                cursor.execute(
                    "SELECT count(*) FROM case_search_fts JOIN case_search_document "
                    "ON case_search_document.case_id = case_search_fts.rowid WHERE case_search_fts MATCH %s "
                    "AND case_search_fts.rowid >= %s AND case_search_document.region_id = %s",
                    [match_expression([word]), low or 0, region_id],
                )
                found.append(cursor.fetchone()[0])
    return total, {w: (n / total if total else 0.0) for w, n in zip(words, found, strict=True)}
