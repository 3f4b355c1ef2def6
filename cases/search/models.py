"""The search index: one row per case, its words (segmented by jieba) in three weighted parts."""

from __future__ import annotations

from django.db import models

from cases.models import Case, Region


class SearchDocument(models.Model):
    """What a case is found by. Written only by ``cases.search.index``.

    ``ident``: the case number's parts and the credit code (weighted highest); ``enterprise``:
    the enterprise name's words; ``body``: the words of the description, the handling result, the
    policy basis and where the enterprise was told to turn. Each is words separated by spaces.

    The database indexes these columns itself (migration 0001): PostgreSQL adds a generated
    ``vector`` tsvector column (weights A, B, D) with a GIN index; SQLite an FTS5 table
    ``case_search_fts`` over this one (external content), kept by triggers.
    """

    case = models.OneToOneField(Case, models.CASCADE, primary_key=True, related_name="search_document")
    # The case's region (fixed at intake), so a county's search narrows the index by region before
    # ranking: PostgreSQL combines the (region, case) index with the GIN one — the region and a
    # window of the newest case ids in one exact bitmap (query.py joins on it).
    region = models.ForeignKey(Region, models.CASCADE, related_name="+", db_index=False)
    ident = models.TextField(blank=True)
    enterprise = models.TextField(blank=True)
    body = models.TextField(blank=True)

    class Meta:
        db_table = "case_search_document"
        indexes = [models.Index(fields=["region", "case"], name="case_search_region_case_idx")]

    def __str__(self) -> str:
        return f"search document of case {self.case_id}"
