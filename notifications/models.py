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
    """One attempt to deliver something to one address through one transport."""

    class Status(models.TextChoices):
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    transport = models.CharField(_("transport"), max_length=20)
    address = models.CharField(_("address"), max_length=254)
    subject = models.CharField(_("subject"), max_length=200)
    notification = models.ForeignKey(Notification, models.SET_NULL, null=True, blank=True, related_name="deliveries")
    # What the delivery was for, e.g. "reminder:123" or "notice:45:recipient:3" (for retries and audits).
    purpose = models.CharField(_("purpose"), max_length=100, db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    error = models.TextField(_("error"), blank=True)
    attempted_at = models.DateTimeField(_("attempted at"), default=timezone.now)

    class Meta:
        ordering = ["-attempted_at", "-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
