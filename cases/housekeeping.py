"""Daily housekeeping of the cases app: expired idempotency keys, stored files no row names.

Run by Celery beat (``cases.housekeeping``, config/settings.py) in production and by
``run_timers`` once a day in the embedded default.
"""

from __future__ import annotations

import datetime as dt
import logging

from . import idempotency, orphan_files

logger = logging.getLogger(__name__)


def run_daily(*, now: dt.datetime) -> dict:
    expired = idempotency.expire_keys(now=now)
    if expired:
        logger.info("idempotency keys: %d expired keys removed", expired)
    sweep = orphan_files.remove_orphans(now=now)
    return {
        "expired_keys": expired,
        "orphan_files_removed": len(sweep.removed),
        "orphan_bytes_removed": sweep.removed_bytes,
    }
