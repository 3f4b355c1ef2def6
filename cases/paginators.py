"""Pagination that never counts a million rows: exact up to a cap, lazy past it.

The 台帐 and the API list say how many cases match. Counting them exactly costs a scan of every
matching row — at a million cases, most of a page view's time — while past a few thousand the
number tells an office nothing it acts on. So the count stops at ``CAP`` + 1 rows
(``SELECT COUNT(*) FROM (SELECT … LIMIT 10001)``, which reads at most 10,001 index entries or
rows): up to the cap it is exact and pages behave as Django's paginator; past it the page shows
"more than 10,000" and pagination turns lazy — each page reads one row beyond itself to know
whether there is a next page (django-tables2's LazyPaginator), so 下一页 works on every page,
including those past the cap.
"""

from __future__ import annotations

import math

from django.core.paginator import EmptyPage, Page, Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django_tables2.paginators import LazyPaginator
from django_tables2.rows import BoundRow

CAP = 10_000
# From this row on, a lazy page reads its ids first, then those rows with their joins: an
# OFFSET skips index entries, not 15,000 joined rows.
DEFERRED_FROM = 1_000


def _queryset(items):
    """The queryset behind django-tables2's rows (BoundRows → TableQuerysetData → QuerySet)."""
    data = getattr(items, "data", None)
    inner = getattr(data, "data", None)
    if isinstance(inner, QuerySet):
        return inner
    return items


def capped_count(items, limit: int) -> int:
    """How many items there are, counting no further than ``limit``."""
    queryset = _queryset(items)
    if getattr(queryset, "counts_ranked", False):
        # A search in relevance order lists its ranked window (cases.search.query): at most
        # RANKED cases, counted by the search itself.
        return min(queryset.count(), limit)
    if isinstance(queryset, QuerySet):
        # A department's whole scope: counted in its rows (CaseQuerySet.count_up_to).
        counted = queryset.count_up_to(limit) if hasattr(queryset, "count_up_to") else None
        if counted is not None:
            return counted
        # Unordered: the database may take the rows in whatever order is cheapest to count; the
        # ids only, so that no annotation (the API's pending-extension EXISTS) is computed per row.
        return queryset.order_by().values("pk")[:limit].count()
    return len(items[:limit])


def _ids_first(queryset) -> bool:
    """A department's scope reads a page's ids first, then those rows: the ids of a queue or a
    sorted list come from a walk of an index of every county's cases (the follow-up queue's, by
    closing) probing the department's rows, which reads index entries only; the rows themselves
    with it would fetch every case walked past (90 ms at a million cases for 50 rows)."""
    query = getattr(queryset, "query", None)
    return bool(getattr(query, "department_rows", None)) and not (query.extra or query.extra_tables)


class CappedPaginator(LazyPaginator):
    """Exact count and page range up to ``cap`` items; past it, lazy pages with a next link.

    ``count`` is exact when ``count_capped`` is false; when true there are more than ``cap``
    items and ``count`` is ``cap`` + 1 (a lower bound). ``num_pages`` is then the pages known
    to exist so far (at least those the counted rows fill, one more while a next page exists).
    """

    def __init__(self, object_list, per_page, cap: int | None = None, **kwargs):
        self.cap = cap if cap is not None else CAP
        super().__init__(object_list, per_page, **kwargs)

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        return capped_count(self.object_list, self.cap + 1)

    @property
    def count_capped(self) -> bool:
        return self.count > self.cap

    @property
    def num_pages(self) -> int:  # type: ignore[override]
        if not self.count_capped:
            return Paginator.num_pages.func(self)  # type: ignore[attr-defined]
        known = math.ceil(self.count / self.per_page)
        return max(known, self._num_pages or 0)

    def validate_number(self, number):
        if not self.count_capped:
            return Paginator.validate_number(self, number)
        return super().validate_number(number)

    def page(self, number):
        if not self.count_capped:
            if not _ids_first(_queryset(self.object_list)):
                return Paginator.page(self, number)
            # As Django's paginator, the rows read as _rows reads them.
            number = self.validate_number(number)
            bottom = (number - 1) * self.per_page
            top = bottom + self.per_page
            if top + self.orphans >= self.count:
                top = self.count
            return Page(self._rows(bottom, top), number, self)
        number = self.validate_number(number or 1)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        # One row beyond the page says whether there is a next one (as LazyPaginator does).
        objects = self._rows(bottom, top + self.orphans + 1)
        if len(objects) > self.per_page + self.orphans:
            self._num_pages = number + 1
            objects = objects[: self.per_page]
        elif number != 1 and not objects:
            raise EmptyPage(_("That page contains no results"))
        else:
            self._num_pages = self._final_num_pages = number
        return Page(objects, number, self)

    def _rows(self, bottom: int, top: int) -> list:
        queryset = _queryset(self.object_list)
        if not isinstance(queryset, QuerySet) or (bottom < DEFERRED_FROM and not _ids_first(queryset)):
            return list(self.object_list[bottom:top])
        # A department's list by receipt, unfiltered or filtered only by what its rows copy: the ids
        # from those rows alone (CaseQuerySet.ids_between), a range of their index.
        ids = queryset.ids_between(bottom, top) if hasattr(queryset, "ids_between") else None
        if ids is None:
            ids = list(queryset.values_list("pk", flat=True)[bottom:top])
        found = {record.pk: record for record in queryset.order_by().filter(pk__in=ids)}
        records = [found[pk] for pk in ids if pk in found]
        if queryset is self.object_list:
            return records
        table = self.object_list.table  # django-tables2's rows: the same BoundRow per record
        return [BoundRow(record, table=table) for record in records]

    def is_last_page(self, number) -> bool:
        if not self.count_capped:
            return number == self.num_pages
        return super().is_last_page(number)

    @property
    def page_range(self):
        if not self.count_capped:
            return range(1, self.num_pages + 1)
        raise NotImplementedError("more than the cap: the number of pages is not known")


__all__ = ["CAP", "CappedPaginator", "EmptyPage", "Page", "capped_count"]
