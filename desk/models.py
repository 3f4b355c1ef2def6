"""The record of what offices did to their department users (desk.staff)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class StaffChange(models.Model):
    """One change an office made to a department user: who, what, to whom, when. Written in the
    same transaction as the change; never edited (the admin shows it read-only). A password is
    never recorded, only that it was set."""

    class Action(models.TextChoices):
        CREATED = "created", _("User added")  # 新增用户
        PASSWORD_RESET = "password_reset", _("Password reset")  # 重置密码
        DISABLED = "disabled", _("User disabled")  # 停用
        ENABLED = "enabled", _("User enabled")  # 启用

    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("done by"))
    actor_name = models.CharField(_("done by (name)"), max_length=150)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("user"))
    username = models.CharField(_("username"), max_length=150)
    department = models.ForeignKey("cases.Department", models.PROTECT, related_name="+", verbose_name=_("department"))
    region = models.ForeignKey("cases.Region", models.PROTECT, related_name="+", verbose_name=_("region"))
    at = models.DateTimeField(_("time"), default=timezone.now)
    detail = models.CharField(_("detail"), max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("department user change")
        verbose_name_plural = _("department user changes")
        indexes = [models.Index(fields=["region", "-at"], name="staffchange_region_at_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.username}"
