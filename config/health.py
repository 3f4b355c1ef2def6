"""/healthz: is the database reachable, is Redis (when configured), how old is the last sweep.

Answers 503 when the database or a configured Redis is down, so a load balancer takes the
process out. A stale sweep (older than three intervals) is reported as ``"stale": true`` with
200: the web process is fine, the timers need attention — monitoring alerts on that field.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from notifications.models import SweepRun


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 - reported, not raised
        return {"ok": False, "error": error.__class__.__name__}
    return {"ok": True, "vendor": connection.vendor}


def _redis() -> dict:
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return {"ok": True, "configured": False, "note": "embedded default: tasks run in-process"}
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        client.close()
    except Exception as error:  # noqa: BLE001
        return {"ok": False, "configured": True, "error": error.__class__.__name__}
    return {"ok": True, "configured": True}


def _last_sweep(now, database_ok: bool) -> dict:
    interval = int(getattr(settings, "SWEEP_INTERVAL_SECONDS", 300))
    if not database_ok:
        return {"finished_at": None, "age_seconds": None, "stale": True, "interval_seconds": interval}
    finished = (
        SweepRun.objects.filter(finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    if finished is None:
        return {"finished_at": None, "age_seconds": None, "stale": True, "interval_seconds": interval}
    age = max(0, int((now - finished).total_seconds()))
    return {
        "finished_at": finished.isoformat(),
        "age_seconds": age,
        "stale": age > 3 * interval,
        "interval_seconds": interval,
    }


@never_cache
@require_GET
def healthz(request):
    now = timezone.now()
    database = _database()
    redis_state = _redis()
    sweep = _last_sweep(now, database["ok"])
    healthy = database["ok"] and redis_state["ok"]
    body = {
        "status": "ok" if healthy else "fail",
        "database": database,
        "redis": redis_state,
        "last_sweep": sweep,
        "time": now.isoformat(),
    }
    return JsonResponse(body, status=200 if healthy else 503)
