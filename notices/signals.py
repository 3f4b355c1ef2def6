"""The notices listen to the layers below: each round of the embedded default's timers
(``notifications.signals.timers_tick``) refreshes the stored notice figures that are due
(``notices.figures``), as the beat task does with Celery."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def on_timers_tick(sender, now=None, **kwargs) -> None:
    from .figures import refresh_due

    refreshed = refresh_due(now=now)
    if refreshed:
        log.info("notice figures refreshed: %s", refreshed)
