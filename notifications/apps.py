from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        # The ledger announces each checkpoint; the city office gets it by email.
        from cases.signals import case_changed
        from ledger.checkpoint import checkpoint_taken

        from . import calendar_watch  # noqa: F401 - connects the listener to cases.signals
        from .case_events import tell_about_case_change
        from .ledger_checkpoint import send_to_city_office

        checkpoint_taken.connect(send_to_city_office, dispatch_uid="notifications.ledger_checkpoint_email")
        # A department routed a case, an office a case returned to, extension requests and decisions.
        case_changed.connect(tell_about_case_change, dispatch_uid="notifications.case_changed_inbox")
