"""The 台帐 page's search: straight to a case typed by its full number, the enterprise's cases for a
full credit code, otherwise the ledger ranked by relevance with the matched words marked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from cases.models import Enterprise
from cases.tables import LedgerTable

from .highlight import highlight
from .query import Query, parse

SNIPPET = 40  # characters of description and result shown per row, as the plain 台帐 shows


@dataclass(frozen=True)
class LedgerSearch:
    query: Query
    enterprise: Enterprise | None = None
    results: Any = None  # the searched queryset the page lists (or a clone of it)

    @property
    def words(self) -> tuple[str, ...]:
        return self.query.words

    @property
    def capped(self) -> bool:
        """More cases hold the words than the newest ones ranked (cases.search.query.RANKED): known
        once the page's table counted them in relevance order; sorted by a column, all are listed."""
        return bool(getattr(self.results, "search_capped", False))

    @property
    def ranked(self) -> int:
        return getattr(self.results, "search_limit", 0)


def ledger_search(text: str | None, cases: QuerySet) -> LedgerSearch | None:
    """What the page's ?q= asks for, or None when there is no search. ``cases`` is the filtered,
    scoped queryset: an enterprise is named only when the user sees one of its cases."""
    query = parse(text)
    if query.empty:
        return None
    enterprise = None
    if query.credit_code:
        enterprise = Enterprise.objects.filter(credit_code=query.credit_code, cases__in=cases).first()
    return LedgerSearch(query, enterprise, results=cases)


def jump_target(search: LedgerSearch | None, cases: QuerySet) -> str | None:
    """The case page when a full case number was typed and the user may see that case."""
    if search is None or not search.query.number:
        return None
    pk = cases.filter(number=search.query.number).values_list("pk", flat=True).first()
    return reverse("cases:detail", args=[pk]) if pk else None


class SearchLedgerTable(LedgerTable):
    """The 台帐 with the query's words marked in the enterprise, description and result."""

    class Meta(LedgerTable.Meta):
        # django-tables2 reads a table's options from its own class body only: without this the
        # search results were drawn by the site-wide default template (every cell through the
        # per-cell machinery, ~40 ms a page at a million cases) without the 台帐's class.
        pass

    def __init__(self, *args, words=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.words = tuple(words)

    def render_enterprise(self, value):
        return highlight(value, self.words)

    def render_description(self, value):
        return highlight(value, self.words, width=SNIPPET)

    def render_result(self, value):
        return highlight(value, self.words, width=SNIPPET)
