"""The cache: Redis when REDIS_URL is set, and never a reason for a page to fail.

The cache only saves work (the dashboard's provisional score); nothing depends on what it holds.
So when Redis is unreachable the cache answers as an empty one — a miss on every read, writes
dropped — and the page computes what it needs. After a failure Redis is left alone for
``RETRY_SECONDS`` so that a dead server costs one failed connection per process, not one per read.
/healthz still reports Redis down (503); that is for the operator, not the user.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

log = logging.getLogger(__name__)

RETRY_SECONDS = 15.0
# Seconds to wait for Redis: a server that drops packets must not hold a request for long.
SOCKET_TIMEOUT_SECONDS = 1.0


def cache_settings(redis_url: str) -> dict:
    """The CACHES setting for a REDIS_URL (empty: the embedded default's in-process cache)."""
    if not redis_url:
        return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return {
        "default": {
            "BACKEND": "config.cache.FallbackRedisCache",
            "LOCATION": redis_url,
            "OPTIONS": {"socket_connect_timeout": SOCKET_TIMEOUT_SECONDS, "socket_timeout": SOCKET_TIMEOUT_SECONDS},
        }
    }


class _Outage:
    """When Redis last failed, shared by every cache instance of the process (one per thread)."""

    lock = threading.Lock()
    until = 0.0

    @classmethod
    def active(cls) -> bool:
        return time.monotonic() < cls.until

    @classmethod
    def record(cls, operation: str, error: Exception) -> None:
        with cls.lock:
            first = not cls.active()
            cls.until = time.monotonic() + RETRY_SECONDS
        if first:
            log.warning(
                "cache: Redis unreachable during %s (%r); working without the cache for %.0f s",
                operation,
                error,
                RETRY_SECONDS,
            )

    @classmethod
    def clear(cls) -> None:
        with cls.lock:
            cls.until = 0.0


class FallbackRedisCache(RedisCache):
    """Django's Redis cache that degrades to "nothing cached" when Redis fails."""

    def _guarded(self, operation: str, fallback, call):
        if _Outage.active():
            return fallback
        try:
            return call()
        except Exception as error:  # noqa: BLE001 - any Redis/socket failure: behave as an empty cache
            _Outage.record(operation, error)
            return fallback

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded("add", False, lambda: super(FallbackRedisCache, self).add(key, value, timeout, version))

    def get(self, key, default=None, version=None):
        return self._guarded("get", default, lambda: super(FallbackRedisCache, self).get(key, default, version))

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded("set", None, lambda: super(FallbackRedisCache, self).set(key, value, timeout, version))

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded("touch", False, lambda: super(FallbackRedisCache, self).touch(key, timeout, version))

    def delete(self, key, version=None):
        return self._guarded("delete", False, lambda: super(FallbackRedisCache, self).delete(key, version))

    def get_many(self, keys, version=None):
        return self._guarded("get_many", {}, lambda: super(FallbackRedisCache, self).get_many(keys, version))

    def has_key(self, key, version=None):
        return self._guarded("has_key", False, lambda: super(FallbackRedisCache, self).has_key(key, version))

    def incr(self, key, delta=1, version=None):
        missing = object()
        value = self._guarded("incr", missing, lambda: super(FallbackRedisCache, self).incr(key, delta, version))
        if value is missing:
            raise ValueError(f"Key '{key}' not found (the cache is unavailable)")
        return value

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded(
            "set_many", list(data), lambda: super(FallbackRedisCache, self).set_many(data, timeout, version)
        )

    def delete_many(self, keys, version=None):
        return self._guarded("delete_many", None, lambda: super(FallbackRedisCache, self).delete_many(keys, version))

    def clear(self):
        return self._guarded("clear", False, lambda: super(FallbackRedisCache, self).clear())
