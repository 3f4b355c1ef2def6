"""Periodic notices (通报, scoresheet item 14): schedules, the notices themselves, deliveries.

A notice is drafted from the ledger, edited while a draft, then issued; from then on it is
immutable (``Notice.save`` refuses any change but being superseded by a correction). A notice
issued outside the system is registered with its scan and marked offline.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.errors import WrongState
from cases.scope import scope_of

from . import periods


class Frequency(models.TextChoices):
    MONTHLY = periods.MONTHLY, _("Monthly")
    QUARTERLY = periods.QUARTERLY, _("Quarterly")


class RecipientGroup(models.TextChoices):
    CITY_OFFICE = "city_office", _("City enterprise service office")  # 市服务办
    LOCAL_LEADER = "local_leader", _("Local leaders in charge")  # 本级主管领导
    DEPARTMENT_LEADER = "department_leader", _("Leaders of the departments concerned")  # 相关部门领导


ALL_GROUPS = tuple(RecipientGroup.values)


class NoticeScheduleQuerySet(models.QuerySet):
    def for_user(self, user) -> NoticeScheduleQuerySet:
        return self.filter(scope_of(user).office_region_filter("region"))


class NoticeSchedule(models.Model):
    """How often a region (or the city) issues its notice, and to whom. One per region."""

    region = models.OneToOneField(
        "cases.Region", models.PROTECT, related_name="notice_schedule", verbose_name=_("region")
    )
    frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices, default=Frequency.MONTHLY)
    # When the notice system took effect; blank means it was already in force.
    start_date = models.DateField(_("start date"), null=True, blank=True)
    # The issuing office as the red header (红头) names it, and the abbreviation its document
    # numbers (文号) start with; blank: derived from the region's name (notices.document).
    office_name = models.CharField(_("issuing office"), max_length=100, blank=True)
    number_prefix = models.CharField(_("document number abbreviation"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("updated by")
    )

    objects = NoticeScheduleQuerySet.as_manager()

    class Meta:
        ordering = ["region__code"]
        verbose_name = _("notice schedule")
        verbose_name_plural = _("notice schedules")

    def __str__(self) -> str:
        return f"{self.region} · {self.get_frequency_display()}"

    def groups_covered(self) -> set[str]:
        return {r.group for r in self.recipients.all()}


class Recipient(models.Model):
    schedule = models.ForeignKey(NoticeSchedule, models.CASCADE, related_name="recipients")
    group = models.CharField(_("recipient group"), max_length=20, choices=RecipientGroup.choices)
    name = models.CharField(_("name"), max_length=100)
    email = models.EmailField(_("email"))

    class Meta:
        ordering = ["schedule", "group", "id"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "group", "email"], name="notice_recipient_unique_per_group"),
        ]
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")

    def __str__(self) -> str:
        return f"{self.get_group_display()} · {self.name} <{self.email}>"


class Status(models.TextChoices):
    DRAFTED = "drafted", _("Drafted")
    ISSUED = "issued", _("Issued")
    OFFLINE = "offline", _("Registered offline")
    SUPERSEDED = "superseded", _("Superseded")


ISSUED_STATES = (Status.ISSUED, Status.OFFLINE)
# A superseded notice was issued too, on its own date (SPEC §6 counts it).
EVER_ISSUED_STATES = (Status.ISSUED, Status.OFFLINE, Status.SUPERSEDED)


class NoticeQuerySet(models.QuerySet):
    def for_user(self, user) -> NoticeQuerySet:
        return self.filter(scope_of(user).office_region_filter("region"))


def document_upload_to(instance: Notice, filename: str) -> str:
    # The stored name is generated; the user's file name is kept only as data.
    suffix = Path(instance.document_name or filename).suffix.lower()[:10]
    return f"notices/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class Notice(models.Model):
    """One notice (通报) of a region for a period."""

    region = models.ForeignKey("cases.Region", models.PROTECT, related_name="notices", verbose_name=_("region"))
    period = models.CharField(_("period"), max_length=7)
    frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFTED)
    offline = models.BooleanField(_("registered offline"), default=False)

    title = models.CharField(_("title"), max_length=200, blank=True)
    covering_text = models.TextField(_("covering text"), blank=True)
    # The body as last drafted from the figures: a refresh redrafts the body only while the
    # office has not edited it (covering_text still equals this).
    drafted_text = models.TextField(_("body drafted from the figures"), blank=True)
    # Figures of SPEC §5 as drafted from the ledger (see notices.drafting), the per-department
    # table, and the changes against the previous period's notice.
    figures = models.JSONField(_("figures"), default=dict, blank=True)
    departments = models.JSONField(_("departments"), default=list, blank=True)
    changes = models.JSONField(_("changes since the last period"), null=True, blank=True)
    drafted_at = models.DateTimeField(_("drafted at"), null=True, blank=True)
    # Where the figures came from (notices.figures): the ledger entry id they are exact through
    # (no entry of the region's cases with a greater id had been written for the period when they
    # were computed; None: not known) and when they were computed — a draft may show stored figures
    # computed before it was drafted.
    figures_mark = models.BigIntegerField(_("figures exact through ledger entry"), null=True, blank=True)
    figures_computed_at = models.DateTimeField(_("figures computed at"), null=True, blank=True)

    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("issued by")
    )
    # The document number (文号) allocated at issue, e.g. 罗服办〔2026〕4号: sequential per region
    # and year of issue, never reused (``NoticeNumberSequence``); the issuing office as printed.
    number_year = models.PositiveSmallIntegerField(_("document number year"), null=True, blank=True)
    number_serial = models.PositiveIntegerField(_("document number serial"), null=True, blank=True)
    document_number = models.CharField(_("document number"), max_length=60, blank=True)
    issuing_office = models.CharField(_("issuing office"), max_length=100, blank=True)
    # Recipient groups reached: those with a delivery sent, or those stated for an offline notice.
    groups = models.JSONField(_("recipient groups reached"), default=list, blank=True)
    # The region's latest ledger checkpoint when the notice was issued: its root is printed on
    # the notice (本期台帐校验码), so a later ledger can be held against what leaders were sent.
    ledger_checkpoint = models.ForeignKey(
        "ledger.LedgerCheckpoint",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ledger checkpoint"),
    )

    document = models.FileField(_("scan"), upload_to=document_upload_to, blank=True)
    document_name = models.CharField(_("file name"), max_length=200, blank=True)
    document_type = models.CharField(_("content type"), max_length=100, blank=True)
    document_sha256 = models.CharField(_("SHA-256 digest of the scan"), max_length=64, blank=True)

    supersedes = models.ForeignKey(
        "self", models.PROTECT, null=True, blank=True, related_name="corrections", verbose_name=_("corrects")
    )
    superseded_at = models.DateTimeField(_("superseded at"), null=True, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        ordering = ["region__code", "-period", "-id"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        constraints = [
            # Drafting is idempotent: one draft per region and period.
            models.UniqueConstraint(
                fields=["region", "period"], condition=Q(status="drafted"), name="notice_one_draft_per_period"
            ),
            # One notice in force per region and period; a correction supersedes the old one.
            models.UniqueConstraint(
                fields=["region", "period"],
                condition=Q(status__in=["issued", "offline"]),
                name="notice_one_in_force_per_period",
            ),
            models.CheckConstraint(
                condition=Q(status="drafted") | Q(issued_on__isnull=False), name="notice_issued_has_date"
            ),
            # A document number is never given twice.
            models.UniqueConstraint(
                fields=["region", "number_year", "number_serial"],
                condition=Q(number_serial__isnull=False),
                name="notice_document_number_unique",
            ),
        ]
        indexes = [models.Index(fields=["region", "period"], name="notice_region_period_idx")]

    # Fields a later save may still change once the notice is issued: being superseded, and the
    # delivery bookkeeping (groups reached grow as retried deliveries go out).
    MUTABLE_AFTER_ISSUE = frozenset({"status", "superseded_at", "groups", "updated_at"})

    def __str__(self) -> str:
        return f"{self.region.name} {self.period}"

    def save(self, *args, **kwargs):
        loaded = getattr(self, "_loaded_status", None)
        if self.pk and not self._state.adding and loaded is None:
            loaded = Notice.objects.filter(pk=self.pk).values_list("status", flat=True).first()
        if self.pk and loaded in EVER_ISSUED_STATES:
            update_fields = kwargs.get("update_fields")
            if update_fields is None or not set(update_fields) <= self.MUTABLE_AFTER_ISSUE:
                raise WrongState(str(_("An issued notice cannot be changed; issue a correction instead.")))
            if self.status not in EVER_ISSUED_STATES or (loaded == Status.SUPERSEDED and self.status != loaded):
                raise WrongState(str(_("An issued notice cannot be changed; issue a correction instead.")))
        super().save(*args, **kwargs)
        self._loaded_status = self.status

    def delete(self, *args, **kwargs):
        if getattr(self, "_loaded_status", self.status) in EVER_ISSUED_STATES:
            raise WrongState(str(_("An issued notice is archived and cannot be deleted.")))
        return super().delete(*args, **kwargs)

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_status = instance.status if "status" in field_names else None
        return instance

    @property
    def period_obj(self) -> periods.Period:
        return periods.parse(self.period)

    @property
    def is_draft(self) -> bool:
        return self.status == Status.DRAFTED

    @property
    def issued_late(self) -> bool:
        """Issued (or registered) after the end of the next period: too late to serve item 14."""
        return self.issued_on is not None and self.issued_on > self.period_obj.next().end

    @property
    def reached_all_groups(self) -> bool:
        return set(ALL_GROUPS) <= set(self.groups or [])

    @property
    def ledger_root(self) -> str | None:
        """本期台帐校验码: the region's root in the checkpoint taken when the notice was issued."""
        if self.ledger_checkpoint is None:
            return None
        return self.ledger_checkpoint.region_root(self.region.code)

    def group_labels(self) -> list[str]:
        return [str(RecipientGroup(g).label) for g in ALL_GROUPS if g in (self.groups or [])]


class NoticeNumberSequence(models.Model):
    """The last document number (文号) serial given by a region's office in a year.

    Issuing takes the region's lock and bumps this row, so serials run 1, 2, 3 … per office and
    year without gaps from races and are never handed out again, even if the office's
    abbreviation changes during the year."""

    region = models.ForeignKey("cases.Region", models.PROTECT, related_name="+", verbose_name=_("region"))
    year = models.PositiveSmallIntegerField(_("year"))
    last = models.PositiveIntegerField(_("last serial"), default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["region", "year"], name="notice_number_sequence_unique"),
        ]
        verbose_name = _("document number sequence")
        verbose_name_plural = _("document number sequences")

    def __str__(self) -> str:
        return f"{self.region_id} {self.year}: {self.last}"


class NoticeDelivery(models.Model):
    """One recipient of one issued notice, and how sending to them went."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    notice = models.ForeignKey(Notice, models.PROTECT, related_name="deliveries")
    recipient = models.ForeignKey(Recipient, models.SET_NULL, null=True, blank=True, related_name="+")
    # A copy of who it went to: the schedule may change later, the record must not.
    group = models.CharField(_("recipient group"), max_length=20, choices=RecipientGroup.choices)
    name = models.CharField(_("name"), max_length=100)
    email = models.EmailField(_("email"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # When the row was last claimed for sending ("sending"); cleared when the attempt is recorded.
    # A claim older than NOTICE_DELIVERY_CLAIM_TIMEOUT_SECONDS is a dead worker's: reclaimed.
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    delivery = models.ForeignKey("notifications.Delivery", models.SET_NULL, null=True, blank=True, related_name="+")
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["notice", "group", "id"]
        constraints = [
            models.UniqueConstraint(fields=["notice", "group", "email"], name="notice_delivery_once_per_recipient"),
        ]
        verbose_name = _("notice delivery")
        verbose_name_plural = _("notice deliveries")

    def __str__(self) -> str:
        return f"{self.notice} → {self.name} <{self.email}>"


class DraftFigures(models.Model):
    """A region's notice figures for one period as ``notices.drafting.compute`` gave them, kept so
    that drafting a notice does not read a county's ledger on the request (``notices.figures``).

    ``ledger_mark``: every ledger entry with an id up to it had been committed when the figures were
    computed, so they are current while no entry with a greater id belongs to a case of the region
    and happened before the period's end, marks a case 督办 (the figures list the current 督办
    flag) or records a case received before the end (``notices.figures.changed_since``).
    ``seconds``: what computing them took."""

    region = models.ForeignKey("cases.Region", models.CASCADE, related_name="+", verbose_name=_("region"))
    frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    # {"figures": {...}, "departments": [...]}: drafting.compute's result as JSON.
    result = models.JSONField(_("figures"))
    computed_at = models.DateTimeField(_("computed at"))
    ledger_mark = models.BigIntegerField(_("exact through ledger entry"))
    seconds = models.FloatField(_("seconds to compute"))

    class Meta:
        verbose_name = _("stored notice figures")
        verbose_name_plural = _("stored notice figures")
        constraints = [
            models.UniqueConstraint(fields=["region", "frequency", "period_start"], name="draft_figures_one_per_period")
        ]

    def __str__(self) -> str:
        return f"{self.region_id} {self.frequency} {self.period_start}"

    @property
    def period(self) -> periods.Period:
        return periods.containing(self.period_start, self.frequency)
