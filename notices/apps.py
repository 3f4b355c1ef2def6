from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    name = "notices"
    verbose_name = _("Periodic notices")

    def ready(self):
        from notifications.signals import timers_tick

        from . import signals

        timers_tick.connect(signals.on_timers_tick, dispatch_uid="notices.figures_on_timers")
