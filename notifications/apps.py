from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        # The ledger announces each checkpoint; the city office gets it by email.
        from ledger.checkpoint import checkpoint_taken

        from . import calendar_watch  # noqa: F401 - connects the listener to cases.signals
        from .ledger_checkpoint import send_to_city_office

        checkpoint_taken.connect(send_to_city_office, dispatch_uid="notifications.ledger_checkpoint_email")
