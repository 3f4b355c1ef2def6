"""The year-end assessment (考核): rule sets as data, assessments, entries, overrides, audit.

A rule set is the scoresheet of one assessment method (the default ``xinyang-2012`` is the 2012
Xinyang county/district 考核表): its sections, its 21 items with the seed's rows of content and
scoring standard, and the parameters of the automatic rules. A new year's method is a new rule
set row, never a code change.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RuleSet(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    version = models.PositiveIntegerField(_("version"), default=1)
    based_on = models.ForeignKey(
        "self", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("based on")
    )
    description = models.TextField(_("description"), blank=True)
    # Parameters of the automatic and derived rules (ladders, thresholds, the 80–85 gap value).
    params = models.JSONField(_("parameters"), default=dict)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["code"]
        verbose_name = _("rule set")
        verbose_name_plural = _("rule sets")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Section(models.Model):
    """A category (考核类别) of the scoresheet, e.g. 三、企业反映问题处理、解决情况."""

    rule_set = models.ForeignKey(RuleSet, models.CASCADE, related_name="sections")
    number = models.PositiveSmallIntegerField(_("number"))
    title = models.CharField(_("title"), max_length=200)
    max_points = models.DecimalField(_("maximum"), max_digits=6, decimal_places=1)

    class Meta:
        ordering = ["rule_set", "number"]
        constraints = [models.UniqueConstraint(fields=["rule_set", "number"], name="scoring_section_unique_number")]
        verbose_name = _("section")
        verbose_name_plural = _("sections")

    def __str__(self) -> str:
        return self.title


class Item(models.Model):
    """An item (考核项目) of the scoresheet, numbered 1..21 in the default rule set."""

    class Kind(models.TextChoices):
        MANUAL = "manual", _("Entered by the assessors")
        LEDGER = "ledger", _("Automatic: ledger completeness")  # item 13
        NOTICES = "notices", _("Automatic: periodic notices")  # item 14
        TIMELINESS = "timeliness", _("Automatic: timeliness")  # item 15
        REPORTS = "reports", _("Derived: reports submitted")  # item 19
        SURVEY = "survey", _("Derived: satisfaction survey")  # item 21

    AUTOMATIC = (Kind.LEDGER, Kind.NOTICES, Kind.TIMELINESS)

    rule_set = models.ForeignKey(RuleSet, models.CASCADE, related_name="items")
    section = models.ForeignKey(Section, models.CASCADE, related_name="items")
    number = models.PositiveSmallIntegerField(_("number"))
    title = models.CharField(_("title"), max_length=300)
    max_points = models.DecimalField(_("maximum"), max_digits=6, decimal_places=1)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.MANUAL)

    class Meta:
        ordering = ["rule_set", "number"]
        constraints = [models.UniqueConstraint(fields=["rule_set", "number"], name="scoring_item_unique_number")]
        verbose_name = _("item")
        verbose_name_plural = _("items")

    def __str__(self) -> str:
        return f"{self.number}. {self.title}"

    @property
    def is_automatic(self) -> bool:
        return self.kind in self.AUTOMATIC


class Criterion(models.Model):
    """One row of an item on the seed's sheet: content (内容), its points (分值) and standard (评分标准)."""

    item = models.ForeignKey(Item, models.CASCADE, related_name="criteria")
    position = models.PositiveSmallIntegerField(_("position"))
    content = models.TextField(_("content"))
    max_points = models.DecimalField(_("points"), max_digits=6, decimal_places=1)
    standard = models.TextField(_("scoring standard"))

    class Meta:
        ordering = ["item", "position"]
        constraints = [models.UniqueConstraint(fields=["item", "position"], name="scoring_criterion_unique_position")]
        verbose_name = _("criterion")
        verbose_name_plural = _("criteria")

    def __str__(self) -> str:
        return self.content[:40]


class Assessment(models.Model):
    """One year's assessment under one rule set; frozen at the cutoff with a hash of its inputs."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    rule_set = models.ForeignKey(RuleSet, models.PROTECT, related_name="assessments", verbose_name=_("rule set"))
    cutoff = models.DateField(_("cutoff date"))
    frozen_at = models.DateTimeField(_("frozen at"), null=True, blank=True)
    frozen_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    inputs_hash = models.CharField(_("hash of inputs"), max_length=64, blank=True)
    result_json = models.TextField(_("frozen result"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-year"]
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")
        constraints = [
            models.CheckConstraint(
                condition=Q(frozen_at__isnull=True) | ~Q(inputs_hash=""), name="scoring_frozen_has_hash"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year} ({self.rule_set.code})"

    @property
    def is_frozen(self) -> bool:
        return self.frozen_at is not None


class ItemEntry(models.Model):
    """What the assessors entered for a manual item of one region (the current value)."""

    assessment = models.ForeignKey(Assessment, models.CASCADE, related_name="entries")
    region = models.ForeignKey("cases.Region", models.PROTECT, related_name="+")
    item_number = models.PositiveSmallIntegerField(_("item"))
    points = models.DecimalField(_("points"), max_digits=6, decimal_places=1)
    note = models.TextField(_("note"), blank=True)
    # For derived items (19: {"reports": n}; 21: {"rate": "0.9350", "participating": n, "above_scale": m}).
    inputs = models.JSONField(_("inputs"), default=dict, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    entered_at = models.DateTimeField(_("entered at"))

    class Meta:
        ordering = ["assessment", "region__code", "item_number"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "region", "item_number"], name="scoring_entry_unique"),
            models.CheckConstraint(condition=Q(points__gte=0), name="scoring_entry_points_not_negative"),
        ]
        verbose_name = _("item entry")
        verbose_name_plural = _("item entries")

    def __str__(self) -> str:
        return f"{self.item_number}: {self.points}"


class Override(models.Model):
    """An assessor's override of an automatic item: the computed value is kept beside it."""

    assessment = models.ForeignKey(Assessment, models.CASCADE, related_name="overrides")
    region = models.ForeignKey("cases.Region", models.PROTECT, related_name="+")
    item_number = models.PositiveSmallIntegerField(_("item"))
    computed_points = models.DecimalField(_("computed points"), max_digits=6, decimal_places=1)
    points = models.DecimalField(_("points"), max_digits=6, decimal_places=1)
    reason = models.TextField(_("reason"))
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    entered_at = models.DateTimeField(_("entered at"))

    class Meta:
        ordering = ["assessment", "region__code", "item_number"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "region", "item_number"], name="scoring_override_unique"),
            models.CheckConstraint(condition=Q(points__gte=0), name="scoring_override_points_not_negative"),
            models.CheckConstraint(condition=~Q(reason=""), name="scoring_override_has_reason"),
        ]
        verbose_name = _("override")
        verbose_name_plural = _("overrides")

    def __str__(self) -> str:
        return f"{self.item_number}: {self.computed_points} → {self.points}"


def attachment_upload_to(instance: Attachment, filename: str) -> str:
    # Generated name: the user's file name is data, never a path.
    suffix = Path(instance.original_name or filename).suffix.lower()[:10]
    return f"scoring/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class Attachment(models.Model):
    """Supporting material (检查资料) for an item of a region's scoresheet."""

    assessment = models.ForeignKey(Assessment, models.CASCADE, related_name="attachments")
    region = models.ForeignKey("cases.Region", models.PROTECT, related_name="+")
    item_number = models.PositiveSmallIntegerField(_("item"))
    file = models.FileField(_("file"), upload_to=attachment_upload_to)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.original_name


class AuditEvent(models.Model):
    """Every entry, override, attachment and freeze, with the value before and after. Append-only."""

    class Action(models.TextChoices):
        ENTRY = "entry", _("Points entered")
        OVERRIDE = "override", _("Automatic item overridden")
        OVERRIDE_REMOVED = "override_removed", _("Override removed")
        ATTACHMENT = "attachment", _("Attachment added")
        FREEZE = "freeze", _("Result frozen")
        CREATED = "created", _("Assessment created")

    assessment = models.ForeignKey(Assessment, models.CASCADE, related_name="audit")
    region = models.ForeignKey("cases.Region", models.PROTECT, null=True, blank=True, related_name="+")
    item_number = models.PositiveSmallIntegerField(_("item"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    actor_name = models.CharField(_("actor"), max_length=150)
    occurred_at = models.DateTimeField(_("occurred at"))

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["assessment", "region", "item_number"], name="scoring_audit_item_idx")]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"{self.action} {self.item_number or ''}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("audit events are append-only")
        super().save(*args, **kwargs)


class LedgerVerdict(models.Model):
    """Memo of ``ledger.completeness.lacks`` for the first ``through_seq`` entries of a case's chain.

    Ledger entries are immutable (the database refuses UPDATE and DELETE), so what a chain prefix
    lacks never changes: item 13 reads these verdicts with one SQL query and asks
    ``ledger.completeness.lacks`` only about prefixes it has not judged yet. The hash of the
    prefix's last entry is kept beside the verdict as a record of what was judged.
    """

    case = models.ForeignKey("cases.Case", models.CASCADE, related_name="+", db_constraint=True)
    through_seq = models.PositiveIntegerField()
    last_hash = models.CharField(max_length=64)
    missing = models.JSONField(default=list)
    complete = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "through_seq"], name="scoring_verdict_unique_prefix"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}@{self.through_seq}"


class ScoreSnapshot(models.Model):
    """A year's automatic items (13, 14, 15) as last computed for every county, so that a page
    view reads a row instead of scoring the year (``scoring.snapshots``).

    One row per (year, rule set, cutoff): the question the pages, the dashboard and the scores API
    ask by default. ``as_of`` is the day it was scored as of (today before the cutoff, the cutoff
    after it); ``marks`` is the state of what the items read when it was computed (the ledger's
    last entry, the notices, the rule set), so a refresh can tell whether anything changed. The
    assessors' entries and overrides are not stored here: every reader lays the current ones over
    the computed items (``scoring.results.assemble``), so an entry shows at once.
    """

    year = models.PositiveSmallIntegerField(_("year"))
    rule_set = models.ForeignKey(RuleSet, models.CASCADE, related_name="+", verbose_name=_("rule set"))
    cutoff = models.DateField(_("cutoff date"))
    as_of = models.DateField(_("scored as of"))
    as_of_today = models.BooleanField(_("provisional"), default=False)
    computed_at = models.DateTimeField(_("computed at"))
    took_ms = models.PositiveIntegerField(_("took (ms)"), default=0)
    case_count = models.PositiveIntegerField(_("cases in scope"), default=0)
    marks = models.JSONField(_("state computed from"), default=dict)
    # {region code: {item number: {"computed", "rule_gap", "rate"}}}: what the pages show.
    summary = models.JSONField(_("summary"), default=dict)
    # {region code: {item number: the item's scores-JSON text after its points}}: the API's bytes.
    detail = models.TextField(_("detail"), blank=True)

    class Meta:
        verbose_name = _("score snapshot")
        verbose_name_plural = _("score snapshots")
        constraints = [
            models.UniqueConstraint(fields=["year", "rule_set", "cutoff"], name="scoring_snapshot_unique_question"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.cutoff} @ {self.computed_at:%Y-%m-%d %H:%M}"


class SnapshotFacts(models.Model):
    """One county's facts of a snapshot, one part a row: an automatic item's detail ("item:15":
    the case numbers by class; "item:13": what each incomplete case lacks; "item:14": the periods)
    or the departments' ranking ("departments"). What the scoresheet, the item drill-downs and the
    exports show, read by the part a page needs (``scoring.snapshots.region_facts``): at a million
    cases a county's item 15 lists are tens of thousands of numbers, the city's megabytes."""

    snapshot = models.ForeignKey(ScoreSnapshot, models.CASCADE, related_name="facts", verbose_name=_("score snapshot"))
    region_code = models.CharField(_("region code"), max_length=12)
    part = models.CharField(_("part"), max_length=24)
    data = models.JSONField(_("facts"))

    class Meta:
        verbose_name = _("score snapshot facts")
        verbose_name_plural = _("score snapshot facts")
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "region_code", "part"], name="scoring_snapshot_facts_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.snapshot_id} {self.region_code} {self.part}"


class TrendSnapshot(models.Model):
    """A year's trends series (``scoring.trends``) as last computed for every county, so that the
    trends page reads a row instead of aggregating the year's cases (``scoring.trend_snapshots``).

    One row per year. ``series`` holds each county's figures (the charts of several counties are
    their sums); the league's item-15 figures are as of ``as_of``. ``marks`` is the state of what
    the series read when computed (the ledger's last entry), so a refresh can tell whether
    anything changed. Names, the ladder's points and ranks are put on when the row is read.
    """

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    as_of = models.DateField(_("scored as of"))
    as_of_today = models.BooleanField(_("provisional"), default=False)
    computed_at = models.DateTimeField(_("computed at"))
    took_ms = models.PositiveIntegerField(_("took (ms)"), default=0)
    case_count = models.PositiveIntegerField(_("cases in scope"), default=0)
    marks = models.JSONField(_("state computed from"), default=dict)
    # {region pk: {"received", "closed", "on_time", "category", "channel", "satisfaction", "league"}}
    series = models.JSONField(_("series"), default=dict)

    class Meta:
        verbose_name = _("trends snapshot")
        verbose_name_plural = _("trends snapshots")

    def __str__(self) -> str:
        return f"{self.year} @ {self.computed_at:%Y-%m-%d %H:%M}"
