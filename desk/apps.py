from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    """The top layer: each role's working desk (dashboard and work queues), the office's
    department users, and the demo year. It may use every app below it; none uses it."""

    name = "desk"
    verbose_name = _("Work desk")
