"""Settings of the test suite: the project's settings, with a random SECRET_KEY when none is set.

Tests run with DEBUG off whenever DATABASE_URL is set (CI), and production settings refuse to
start without a real key (config/secret_key.py). The key is put in the environment before the
settings are read, so the worker, beat and manage.py subprocesses that tests start inherit it.
"""

import os
import secrets

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))

from config.settings import *  # noqa: E402,F403

# A second alias on the same test database, as a replica is the same data behind another door:
# the router's tests turn DATABASE_REPLICA_ALIAS on (tests/deploy/test_db_router.py).
if "replica" not in DATABASES:  # noqa: F405
    DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405
