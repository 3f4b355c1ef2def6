"""An email backend whose process dies mid-send: it raises an exception no ``except Exception``
catches, so the sender stops where a killed worker would — its delivery row left "sending"."""

from django.core.mail.backends.base import BaseEmailBackend


class WorkerDied(BaseException):
    """The process stopped in the middle of an SMTP conversation."""


class Backend(BaseEmailBackend):
    calls = 0

    def send_messages(self, email_messages):
        type(self).calls += 1
        raise WorkerDied("killed mid-SMTP")
