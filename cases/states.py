"""The states of a case (SPEC §2), apart from the model so the action registry
(``cases.actions``) can name them and the model's transitions can read the registry."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    RECEIVED = "received", _("Received")  # 已受理
    ASSIGNED = "assigned", _("Assigned")  # 已交办
    RESOLVED = "resolved", _("Resolved")  # 已解决
    EXPLAINED = "explained", _("Explained")  # 已解释答复


OPEN_STATES = (State.RECEIVED, State.ASSIGNED)
CLOSED_STATES = (State.RESOLVED, State.EXPLAINED)


def state_label(state: str) -> str:
    """The Chinese name of a state (the raw value for one not known)."""
    return str(State(state).label) if state in State.values else state
