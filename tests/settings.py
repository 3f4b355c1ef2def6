"""Settings of the test suite: the project's settings, with a random SECRET_KEY when none is set.

Tests run with DEBUG off whenever DATABASE_URL is set (CI), and production settings refuse to
start without a real key (config/secret_key.py). The key is put in the environment before the
settings are read, so the worker, beat and manage.py subprocesses that tests start inherit it.
"""

import os
import secrets

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))

# Run in parallel (pytest-xdist, ``-n``), each worker has a test database of its own (pytest-django
# names it ``…_gw0``, ``…_gw1``) and a Redis database of its own: the one REDIS_URL names plus 1 +
# the worker's number, so that one worker's cache, sessions and queues are not another's. Set in
# the environment before the settings read it, so the processes a test starts use the same.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and os.environ.get("REDIS_URL"):
    from urllib.parse import urlsplit, urlunsplit

    _url = urlsplit(os.environ["REDIS_URL"])
    _base = int(_url.path.strip("/") or 0)
    os.environ["REDIS_URL"] = urlunsplit(_url._replace(path=f"/{_base + 1 + int(_worker[2:])}"))

from config.settings import *  # noqa: E402,F403

# A second alias on the same test database, as a replica is the same data behind another door:
# the router's tests turn DATABASE_REPLICA_ALIAS on (tests/deploy/test_db_router.py).
if "replica" not in DATABASES:  # noqa: F405
    DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405
