from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = _("Assessment")

    def ready(self):
        from cases.signals import case_changed
        from notifications.signals import timers_tick

        from . import signals

        case_changed.connect(signals.on_case_changed, dispatch_uid="scoring.snapshot_after_case_change")
        timers_tick.connect(signals.on_timers_tick, dispatch_uid="scoring.snapshot_on_timers")
