"""/healthz: is the database reachable, is Redis (when configured), how old is the last sweep.

Answers 503 when the database or a configured Redis is down, so a load balancer takes the
process out. A stale sweep (older than three intervals) is reported as ``"stale": true`` with
200: the web process is fine, the timers need attention — monitoring alerts on that field.
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from notifications.models import SweepRun


def _database_and_last_sweep(now) -> tuple[dict, dict]:
    """One indexed query answers both: the database is reachable, and when the last sweep ended.

    /healthz is probed every few seconds by the load balancer and is the floor of the load test:
    it reads one row, writes nothing, and takes no lock.
    """
    interval = int(getattr(settings, "SWEEP_INTERVAL_SECONDS", 300))
    try:
        finished = (
            SweepRun.objects.filter(finished_at__isnull=False)
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )
    except Exception as error:  # noqa: BLE001 - reported, not raised
        sweep = {"finished_at": None, "age_seconds": None, "stale": True, "interval_seconds": interval}
        return {"ok": False, "error": error.__class__.__name__}, sweep
    database = {"ok": True, "vendor": connection.vendor}
    if finished is None:
        return database, {"finished_at": None, "age_seconds": None, "stale": True, "interval_seconds": interval}
    age = max(0, int((now - finished).total_seconds()))
    return database, {
        "finished_at": finished.isoformat(),
        "age_seconds": age,
        "stale": age > 3 * interval,
        "interval_seconds": interval,
    }


_redis_clients: dict = {}
_redis_lock = threading.Lock()


def _redis_client(url: str):
    """One client (with its connection pool) per URL and process, reused by every probe."""
    with _redis_lock:
        client = _redis_clients.get(url)
        if client is None:
            import redis

            client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
            _redis_clients[url] = client
        return client


def _redis() -> dict:
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return {"ok": True, "configured": False, "note": "embedded default: tasks run in-process"}
    try:
        _redis_client(url).ping()
    except Exception as error:  # noqa: BLE001
        return {"ok": False, "configured": True, "error": error.__class__.__name__}
    return {"ok": True, "configured": True}


@never_cache
@require_GET
def healthz(request):
    now = timezone.now()
    database, sweep = _database_and_last_sweep(now)
    redis_state = _redis()
    healthy = database["ok"] and redis_state["ok"]
    body = {
        "status": "ok" if healthy else "fail",
        "database": database,
        "redis": redis_state,
        "last_sweep": sweep,
        "time": now.isoformat(),
    }
    return JsonResponse(body, status=200 if healthy else 503)
