"""The in-app inbox and a record of every delivery attempt, whatever the transport."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    ACKNOWLEDGE_DUE = "acknowledge_due", _("Not yet acknowledged")
    DUE_SOON = "due_soon", _("Due soon")
    OVERDUE = "overdue", _("Overdue")
    ESCALATED = "escalated", _("Escalated")
    SUPERVISED = "supervised", _("Supervised")
    ASSIGNED = "assigned", _("Assigned to you")
    RETURNED = "returned", _("Returned")
    REOPENED = "reopened", _("Reopened")
    EXTENSION = "extension", _("Extension")
    NOTICE_ISSUED = "notice_issued", _("Notice issued")
    DUE_RECOMPUTED = "due_recomputed", _("Due dates recounted")
    CALENDAR_AWAITED = "calendar_awaited", _("Holiday schedule not entered")
    REMINDER = "reminder", _("Reminder from the office")


class Notification(models.Model):
    """One message in one user's inbox."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    case = models.ForeignKey("cases.Case", models.CASCADE, null=True, blank=True, related_name="+")
    message = models.TextField(_("message"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread_idx")]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return self.message[:50]


class Delivery(models.Model):
    """One attempt to deliver something to one address through one transport.

    Deliveries written inside a transaction start ``pending`` and are sent after commit (a
    compare-and-swap to ``sending`` makes sure only one process sends each). A ``failed`` attempt
    is retried by the next sweep as a new row (``attempt`` + 1) until ``MAX_ATTEMPTS``.
    """

    MAX_ATTEMPTS = 5

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    transport = models.CharField(_("transport"), max_length=20)
    address = models.CharField(_("address"), max_length=254)
    subject = models.CharField(_("subject"), max_length=200)
    notification = models.ForeignKey(
        Notification, models.SET_NULL, null=True, blank=True, related_name="deliveries", verbose_name=_("notification")
    )
    # What the delivery was for, e.g. "reminder:123" or "notice:45:recipient:3" (for retries and audits).
    purpose = models.CharField(_("purpose"), max_length=100, db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    error = models.TextField(_("error"), blank=True)
    attempted_at = models.DateTimeField(_("attempted at"), default=timezone.now)
    body = models.TextField(_("body"), blank=True)
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    # Set on a failed attempt once its retry has been queued, so it is retried only once.
    retried_at = models.DateTimeField(_("retried at"), null=True, blank=True)

    class Meta:
        ordering = ["-attempted_at", "-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [
            models.Index(
                fields=["attempted_at"],
                name="delivery_unfinished_idx",
                condition=models.Q(status__in=["pending", "sending"]) | models.Q(status="failed", retried_at=None),
            )
        ]

    def __str__(self) -> str:
        return f"{self.transport}:{self.address} {self.status}"


class Reminder(models.Model):
    """The outbox of deadline reminders: one row per (case, kind, due date), written by the
    sweep, claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` and marked sent in the same
    transaction that puts the messages in the inboxes. The unique key is what makes each
    reminder go out at most once, however many sweeps run and whatever crashes."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")  # the case was closed or its due date moved first
        FAILED = "failed", _("Failed")  # gave up after repeated errors; see last_error

    MAX_ATTEMPTS = 5

    case = models.ForeignKey("cases.Case", models.CASCADE, related_name="+", verbose_name=_("case"))
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    # The deadline the reminder is about: the case's due date, or the acknowledgement deadline.
    due_date = models.DateField(_("due date"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    not_before = models.DateTimeField(_("not before"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    recipients = models.JSONField(_("recipients"), default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        constraints = [
            models.UniqueConstraint(fields=["case", "kind", "due_date"], name="reminder_unique_case_kind_due")
        ]
        indexes = [
            models.Index(fields=["case", "id"], name="reminder_pending_idx", condition=models.Q(status="pending"))
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.due_date}"


class SweepRun(models.Model):
    """One run of the deadline sweep: what it did and what went wrong (read by /healthz)."""

    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    host = models.CharField(_("host"), max_length=100, blank=True)
    planned = models.PositiveIntegerField(_("reminders planned"), default=0)
    sent = models.PositiveIntegerField(_("reminders sent"), default=0)
    cancelled = models.PositiveIntegerField(_("reminders cancelled"), default=0)
    deliveries = models.PositiveIntegerField(_("deliveries attempted"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        get_latest_by = "started_at"
        verbose_name = _("sweep run")
        verbose_name_plural = _("sweep runs")
        indexes = [models.Index(fields=["finished_at"], name="sweeprun_finished_idx")]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M}"


class CalendarReminder(models.Model):
    """The weekly message that next year's holiday schedule has not been entered: one row per
    awaited year and ISO week, written in the transaction that fills the inboxes. The unique key
    is what sends it once a week, however often the timers look."""

    year = models.PositiveSmallIntegerField(_("year awaited"))
    week = models.CharField(_("ISO week"), max_length=8)  # e.g. 2026-W45
    provisional_open = models.PositiveIntegerField(_("open cases with a provisional due date"))
    recipients = models.PositiveIntegerField(_("recipients"), default=0)
    sent_at = models.DateTimeField(_("sent at"))

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = _("holiday schedule reminder")
        verbose_name_plural = _("holiday schedule reminders")
        constraints = [models.UniqueConstraint(fields=["year", "week"], name="calendar_reminder_once_a_week")]

    def __str__(self) -> str:
        return f"{self.year} {self.week}"
