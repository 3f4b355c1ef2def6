"""How a message leaves the system. Email through Django's backend today; an SMS or government
messaging gateway is one more class with the same ``send`` and an entry in TRANSPORTS."""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail


class Transport(Protocol):
    name: str

    def send(self, *, address: str, subject: str, body: str) -> None:
        """Deliver or raise; the caller records the attempt either way."""


class EmailTransport:
    name = "email"

    def send(self, *, address: str, subject: str, body: str) -> None:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address], fail_silently=False)


TRANSPORTS: dict[str, Transport] = {"email": EmailTransport()}


def get(name: str) -> Transport:
    return TRANSPORTS[name]
