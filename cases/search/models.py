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
    # The departments any routing of the case named (its DepartmentCase rows, the department's
    # scope), their ids space-separated in ascending order: written with the row and by every
    # routing (``cases.search.index``). A department's search narrows the index to its own cases
    # before anything else: PostgreSQL keeps them as a generated integer array ``department_ids``
    # with a GIN index (migration 0005), which it combines with the words' GIN index in one
    # bitmap, instead of checking the document of each of the department's cases.
    departments = models.TextField(blank=True, default="")

    class Meta:
        db_table = "case_search_document"
        indexes = [models.Index(fields=["region", "case"], name="case_search_region_case_idx")]

    def __str__(self) -> str:
        return f"search document of case {self.case_id}"


class RoutingModelRegion(models.Model):
    """Whether a region's routing model (``RoutingTerm``, ``RoutingWeight``) may answer, and since when.

    ``ready`` is false for a region that had cases before the model existed and has not been built
    since (``manage.py rebuild_routing_model``): its suggestions take the query path over the
    history. ``as_of``: the model holds what happened before this moment (a rebuild's ``as_of``, or
    the moment a region without history started learning), and everything written since; a
    question about an earlier moment takes the query path too. ``cases``: how many cases it learned
    from (a term held by more than ``COMMON_SHARE`` of them is left out of a question)."""

    region = models.OneToOneField(Region, models.CASCADE, primary_key=True, related_name="+")
    ready = models.BooleanField(default=False)
    as_of = models.DateTimeField()
    cases = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "case_routing_region"

    def __str__(self) -> str:
        return f"routing model of region {self.region_id}"


class RoutingTerm(models.Model):
    """How many of the region's cases hold a term (its document frequency)."""

    region = models.ForeignKey(Region, models.CASCADE, related_name="+", db_index=False)
    term = models.CharField(max_length=64)
    cases = models.IntegerField(default=0)

    class Meta:
        db_table = "case_routing_term"
        constraints = [models.UniqueConstraint(fields=["region", "term"], name="case_routing_term_unique")]

    def __str__(self) -> str:
        return f"{self.term} in region {self.region_id}"


class RoutingWeight(models.Model):
    """What the region's cases holding ``term`` say for ``department`` (cases.search.routing_model).

    ``weight``: the sum of their votes, each scaled by 2^((day − epoch) / half-life), so a newer
    vote weighs more and no row is rewritten as time passes. ``held``: how many of them the
    department closed or holds now. ``closed``: how many it closed per month ("2026-03": 4), the last
    thirteen months kept. ``similar``: the newest few of them, [[case id, number], …], newest first."""

    region = models.ForeignKey(Region, models.CASCADE, related_name="+", db_index=False)
    term = models.CharField(max_length=64)
    department = models.ForeignKey("cases.Department", models.CASCADE, related_name="+", db_index=False)
    weight = models.FloatField(default=0.0)
    held = models.IntegerField(default=0)
    closed = models.JSONField(default=dict)
    similar = models.JSONField(default=list)

    class Meta:
        db_table = "case_routing_weight"
        constraints = [
            models.UniqueConstraint(fields=["region", "term", "department"], name="case_routing_weight_unique")
        ]

    def __str__(self) -> str:
        return f"{self.term} → department {self.department_id} in region {self.region_id}"
