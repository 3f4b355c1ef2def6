"""Settings come from the environment.

No variables at all gives the embedded default: a SQLite file in the project folder, Celery
tasks run in-process, emails on the console; debug pages only with ``DEBUG=true``.
``DATABASE_URL`` points at PostgreSQL in production and CI; ``REDIS_URL`` turns on the real
Celery broker.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Queue

from config.cache import cache_settings
from config.secret_key import DEVELOPMENT_SECRET_KEY, refusal_message, weak_secret_key_reason

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

# The embedded default (no DATABASE_URL): SQLite, tasks in-process, emails on the console.
EMBEDDED = not env.str("DATABASE_URL", default="")
# Debug only when asked for (DEBUG=true): a page that is missing or outside the user's scope
# answers with the app's own Chinese 404, never Django's technical page, on a laptop too.
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY and EMBEDDED and (BASE_DIR / ".secret_key").is_file():
    # The embedded default's own random key, made once by bin/run (never committed), so the
    # README's manage.py commands run beside it without exporting anything.
    SECRET_KEY = (BASE_DIR / ".secret_key").read_text(encoding="utf-8").strip()
if not DEBUG and weak_secret_key_reason(SECRET_KEY):
    # Production never runs on a key from the repository or deploy/env.example (config/secret_key.py).
    raise ImproperlyConfigured(refusal_message(weak_secret_key_reason(SECRET_KEY)))
SECRET_KEY = SECRET_KEY or DEVELOPMENT_SECRET_KEY
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "config.apps.AxesConfig",  # django-axes, named in Chinese in the admin
    "django_tables2",
    "django_filters",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "cases",
    "cases.search",
    "ledger",
    "notifications",
    "notices",
    "scoring",
    "desk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.ChineseUnlessChosenMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication so that a refused URL still shows the page with the user's menu.
    "config.middleware.RefuseControlCharactersMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A query cancelled by the statement timeout: 503 "busy" with Retry-After instead of a 500.
    "config.middleware.BusyOnStatementTimeoutMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cases.context_processors.role",
                "notifications.context_processors.unread",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the run command's timer thread and the web server share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

# A runaway query must not hold a web thread (or a worker) for ever: PostgreSQL cancels any statement
# running longer than this many seconds (0: no limit). deploy/gunicorn.conf.py sets 30 s for the
# web processes; Celery workers keep no limit unless given one (a year's scoring, a re-hash of the
# whole ledger are long by nature). A cancelled page answers 503 "busy" (config/middleware.py).
DATABASE_STATEMENT_TIMEOUT_SECONDS = env.float("DATABASE_STATEMENT_TIMEOUT_SECONDS", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: compiling the year-end scoring aggregate takes about a second on two
    # cores, more than it saves; every other query of the app is far below JIT's cost threshold.
    pg_options = "-c jit=off"
    if DATABASE_STATEMENT_TIMEOUT_SECONDS > 0:
        pg_options += f" -c statement_timeout={int(DATABASE_STATEMENT_TIMEOUT_SECONDS * 1000)}"
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", pg_options)
    # Persistent connections: a new PostgreSQL connection per request costs a backend process and
    # its catalog caches (several ms of the two cores, every request). Each web thread keeps its
    # own for this many seconds, checked before reuse after an error (CONN_HEALTH_CHECKS).
    # PostgreSQL must allow workers × threads + Celery's connections per web machine.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# A streaming replica (deploy/README.md): exports, scoring pages and charts, drafts' previews and
# search read from it (config/db_router.py); writes, transitions and every other read use the primary.
DATABASE_REPLICA_ALIAS = None
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    DATABASES["replica"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        **DATABASES["replica"].get("OPTIONS", {}),
    }
    for key in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS"):
        if key in DATABASES["default"]:
            DATABASES["replica"].setdefault(key, DATABASES["default"][key])
    DATABASE_REPLICA_ALIAS = "replica"
DATABASE_ROUTERS = ["config.db_router.PrimaryReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# One index of the dashboard's (cases 0011) carries a column for index-only reads on PostgreSQL
# (INCLUDE); SQLite builds it without that column, which is all the warning says.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# ISO dates first in Chinese forms: what <input type="date"> renders and accepts.
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Without collectstatic (bin/run, the dev server) WhiteNoise serves the files from the app folders.
WHITENOISE_USE_FINDERS = DEBUG or EMBEDDED
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
# Attachments are never served from MEDIA_URL: only through the scoped download view.
MEDIA_URL = "/_protected/"

# Evidence uploads: size limit and allow-list checked by content (cases/uploads.py).
EVIDENCE_MAX_BYTES = env.int("EVIDENCE_MAX_BYTES", default=20 * 1024 * 1024)
# Behind nginx: the download view answers with X-Accel-Redirect: <prefix>/<stored name> and nginx
# sends the file from an internal location. Empty = Django streams the file itself.
EVIDENCE_X_ACCEL_PREFIX = env.str("EVIDENCE_X_ACCEL_PREFIX", default="")
# Ledger imports (cases/importing/reader.py): refused before reading when larger than this. The
# upload limit matches nginx's client_max_body_size (deploy/nginx); rows count the header too.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=25 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=200_000)
IMPORT_MAX_UNPACKED_BYTES = env.int("IMPORT_MAX_UNPACKED_BYTES", default=512 * 1024 * 1024)
# Seconds an import job may take to read and check the file (a 100,000-row file: ~25–40 s), and to
# write it (in bulk, a few hundred to a few thousand rows/s; through the services ~20 rows/s);
# the synchronous API gets one budget for both passes, within gunicorn's timeout
# (GUNICORN_TIMEOUT=60). The longest job is the sum of the first two.
IMPORT_TIME_BUDGET = env.int("IMPORT_TIME_BUDGET", default=10 * 60)
IMPORT_WRITE_TIME_BUDGET = env.int("IMPORT_WRITE_TIME_BUDGET", default=4 * 3600)
IMPORT_API_TIME_BUDGET = env.int("IMPORT_API_TIME_BUDGET", default=45)
# How an import writes: "bulk" (batches: COPY on PostgreSQL, executemany on SQLite) or
# "services" (row by row through cases.services, ~20 rows/s; the path bulk is tested against).
IMPORT_WRITE_PATH = env.str("IMPORT_WRITE_PATH", default="bulk")
# A request body (JSON or form fields, files not counted) larger than this is refused with 400;
# the API's JSON parser applies the same limit (config/parsers.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
# The cache only saves work (the dashboard's provisional score). With Redis unreachable it acts
# as an empty cache, so no page depends on Redis (config/cache.py).
CACHES = cache_settings(REDIS_URL)
# Sessions: read from Redis on every request, written through to the database (cached_db), so a
# page costs no session query and a Redis restart logs nobody out. Without Redis: the database.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db" if REDIS_URL else "django.contrib.sessions.backends.db"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# -- queues: the timers never wait behind a long job ----------------------------------------------
# "timers": the deadline sweep, its deliveries and the notices' jobs, on a worker of their own
# (`celery worker -Q timers`). "imports": ledger imports. "default": everything else, the long
# scoring jobs among them. deploy/ and bin/run start one worker for "timers" and one for the others.
CELERY_TASK_DEFAULT_QUEUE = "default"
TIMERS_QUEUE, IMPORTS_QUEUE = "timers", "imports"
# Declared, so that a worker started without --queues serves all three rather than "default" only.
CELERY_TASK_QUEUES = [Queue(name) for name in (TIMERS_QUEUE, IMPORTS_QUEUE, CELERY_TASK_DEFAULT_QUEUE)]
CELERY_TASK_ROUTES = {
    # The nightly full re-hash and checkpoint is a long job: never in front of the timers.
    "notifications.ledger_checkpoint": {"queue": CELERY_TASK_DEFAULT_QUEUE},
    "notifications.*": {"queue": TIMERS_QUEUE},
    # Computing a county's notice figures takes seconds at a million cases: not in front of the timers.
    "notices.refresh_draft_figures*": {"queue": CELERY_TASK_DEFAULT_QUEUE},
    "notices.*": {"queue": TIMERS_QUEUE},
    "cases.run_import_job": {"queue": IMPORTS_QUEUE},
}
# Time limits: a hard limit kills the process running a task that overran (a hostile file, a
# runaway query) so no job holds a worker forever. An import may take long (~20 rows/s on
# SQLite); its own limit is IMPORT_TIME_LIMIT_SECONDS (cases/tasks.py), the others' TASK_TIME_LIMIT_SECONDS.
TASK_TIME_LIMIT_SECONDS = env.int("TASK_TIME_LIMIT_SECONDS", default=3600)
IMPORT_TIME_LIMIT_SECONDS = env.int("IMPORT_TIME_LIMIT_SECONDS", default=7200)
CELERY_TASK_SOFT_TIME_LIMIT = TASK_TIME_LIMIT_SECONDS
CELERY_TASK_TIME_LIMIT = TASK_TIME_LIMIT_SECONDS + 60
# Tasks are acknowledged after they finish (acks_late): a message whose worker died is delivered
# again once the broker's visibility timeout has passed. It must outlast the longest job, or a job
# still running would be handed to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": max(TASK_TIME_LIMIT_SECONDS, IMPORT_TIME_LIMIT_SECONDS) + 60 + 1800,
}
# Import jobs heartbeat while they work; one silent this long has lost its worker and is shown
# as interrupted (failed, with a retry button) on its page.
IMPORT_JOB_HEARTBEAT_SECONDS = env.int("IMPORT_JOB_HEARTBEAT_SECONDS", default=5)
IMPORT_JOB_DEAD_AFTER_SECONDS = env.int("IMPORT_JOB_DEAD_AFTER_SECONDS", default=90)
CELERY_BEAT_SCHEDULE: dict = {}

# -- scoring: judge changed ledger chains nightly, freeze a year once its cutoff day has ended --
from celery.schedules import crontab  # noqa: E402

# -- ledger: re-hash every chain and checkpoint the ledger daily (roots emailed to the city office) --
CELERY_BEAT_SCHEDULE["ledger-checkpoint"] = {
    "task": "notifications.ledger_checkpoint",
    "schedule": crontab(hour=1, minute=30),
}
CELERY_BEAT_SCHEDULE["scoring-judge-ledgers"] = {
    "task": "scoring.tasks.judge_ledgers",
    "schedule": crontab(hour=1, minute=10),
}
# -- scoring: the stored scores (scoring.snapshots) are refreshed off the request -----------------
SCORE_SNAPSHOT_INTERVAL_SECONDS = env.int("SCORE_SNAPSHOT_INTERVAL_SECONDS", default=300)
SCORE_SNAPSHOT_MAX_AGE_SECONDS = env.int("SCORE_SNAPSHOT_MAX_AGE_SECONDS", default=3600)
# A year with at most this many cases is scored on the request when its snapshot is stale.
SCORE_SNAPSHOT_INLINE_CASES = env.int("SCORE_SNAPSHOT_INLINE_CASES", default=2000)
CELERY_BEAT_SCHEDULE["scoring-refresh-snapshots"] = {
    "task": "scoring.tasks.refresh_snapshots",
    "schedule": float(SCORE_SNAPSHOT_INTERVAL_SECONDS),
    "options": {"expires": max(60, SCORE_SNAPSHOT_INTERVAL_SECONDS - 10)},
}
# -- notices: draft each schedule's notice after its period ends; record delivery retries ---------
CELERY_BEAT_SCHEDULE["notices-draft-due"] = {
    "task": "notices.draft_due_notices",
    "schedule": crontab(hour=0, minute=40),
}
# The stored notice figures (notices.figures): each due period's recomputed when the ledger has
# changed it, every this many seconds; a stale region with at most this many cases (received and
# open in the period) is computed on the request instead of shown stale.
NOTICE_FIGURES_INTERVAL_SECONDS = env.int("NOTICE_FIGURES_INTERVAL_SECONDS", default=300)
NOTICE_FIGURES_INLINE_CASES = env.int("NOTICE_FIGURES_INLINE_CASES", default=20000)
# The ledger mark is read under a lock that waits this long for open writers (then: not stored).
NOTICE_FIGURES_MARK_LOCK_TIMEOUT_MS = env.int("NOTICE_FIGURES_MARK_LOCK_TIMEOUT_MS", default=500)
CELERY_BEAT_SCHEDULE["notices-refresh-figures"] = {
    "task": "notices.refresh_draft_figures",
    "schedule": float(NOTICE_FIGURES_INTERVAL_SECONDS),
    "options": {"expires": max(60, NOTICE_FIGURES_INTERVAL_SECONDS - 10)},
}
CELERY_BEAT_SCHEDULE["notices-sync-deliveries"] = {
    "task": "notices.sync_failed_deliveries",
    "schedule": crontab(minute="*/15"),
}
CELERY_BEAT_SCHEDULE["scoring-freeze-after-cutoff"] = {
    "task": "scoring.tasks.freeze_after_cutoff",
    "schedule": crontab(hour=0, minute=30),
}

# -- cases: daily housekeeping — expired idempotency keys, stored files no row names ----------------
CELERY_BEAT_SCHEDULE["cases-housekeeping"] = {"task": "cases.housekeeping", "schedule": crontab(hour=3, minute=20)}
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
ORPHAN_FILE_GRACE_HOURS = env.int("ORPHAN_FILE_GRACE_HOURS", default=24)

# -- timers (notifications.sweep) -------------------------------------------------------------
SWEEP_INTERVAL_SECONDS = env.int("SWEEP_INTERVAL_SECONDS", default=300)
CELERY_BEAT_SCHEDULE["sweep-deadlines"] = {
    "task": "notifications.sweep_deadlines",
    "schedule": float(SWEEP_INTERVAL_SECONDS),
    # A sweep message older than the next one is pointless: drop it rather than pile up.
    "options": {"expires": max(60, SWEEP_INTERVAL_SECONDS - 10)},
}
# Daily look; the city office hears once per ISO week while next year's holidays are not entered.
CELERY_BEAT_SCHEDULE["calendar-awaited-reminder"] = {
    "task": "notifications.remind_awaited_calendar",
    "schedule": crontab(hour=8, minute=5),
}
# Redis down must not hold up a request for long: a failed publish is logged and the next
# sweep sends from the database outbox.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_BROKER_TRANSPORT_OPTIONS["socket_connect_timeout"] = 3
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A delivery left "sending" this long belongs to a process that died mid-send; it is retried.
DELIVERY_STALE_SECONDS = env.int("DELIVERY_STALE_SECONDS", default=900)
# A queued delivery whose task has not run after this long is sent by the sweep itself.
DELIVERY_PENDING_GRACE_SECONDS = env.int("DELIVERY_PENDING_GRACE_SECONDS", default=120)
# Working days for each reminder (see notifications/sweep.py); keys may be left out.
DEADLINE_TIMERS = {
    "acknowledge_days": 1,
    "due_soon_days": 2,
    "overdue_days": 1,
    "escalate_days": 3,
    "supervise_days": 5,
}
EXTENSION_MAX_DAYS = env.int("EXTENSION_MAX_DAYS", default=10)

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG or EMBEDDED
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="caseledger@localhost")
# An SMTP conversation is abandoned after this many seconds (without it a hung server holds the
# sender for ever, and nobody could tell a slow send from a dead one).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=60)
# A notice delivery claimed ("sending") longer ago than this was left by a worker that died
# mid-send: the next run puts it back to pending and sends it. Longer than EMAIL_TIMEOUT, so a
# live send is never doubled; after NOTICE_DELIVERY_MAX_ATTEMPTS claims it is failed instead.
NOTICE_DELIVERY_CLAIM_TIMEOUT_SECONDS = env.int("NOTICE_DELIVERY_CLAIM_TIMEOUT_SECONDS", default=900)
NOTICE_DELIVERY_MAX_ATTEMPTS = env.int("NOTICE_DELIVERY_MAX_ATTEMPTS", default=3)
if NOTICE_DELIVERY_CLAIM_TIMEOUT_SECONDS <= EMAIL_TIMEOUT:
    raise ImproperlyConfigured("NOTICE_DELIVERY_CLAIM_TIMEOUT_SECONDS must be longer than EMAIL_TIMEOUT.")

REST_FRAMEWORK = {
    # Token first: an unauthenticated call gets 401 with "WWW-Authenticate: Token" on every endpoint.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cases.auth.ProfileTokenAuthentication",  # DRF's, the user read with the profile (cases.auth)
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api_errors.exception_handler",
    # Bodies are limited in size (DATA_UPLOAD_MAX_MEMORY_SIZE) and nesting: config/parsers.py.
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
API_JSON_MAX_DEPTH = env.int("API_JSON_MAX_DEPTH", default=8)
SPECTACULAR_SETTINGS = {
    "TITLE": "Case Ledger API",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,  # the schema describes the API, not itself
    # 400/401/404 that every operation can answer, and the text rule on string parameters.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.add_common_responses",
    ],
}

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap4.html"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

# -- production hardening ------------------------------------------------------------------------
# HTTPS=true when the site is served over HTTPS (behind nginx): redirect, secure cookies, HSTS.
HTTPS = env.bool("HTTPS", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # probed over plain HTTP from inside the network
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)  # one working day
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failures a username is locked out
# from that address for AXES_COOLOFF_TIME hours. The address is REMOTE_ADDR, or the X-Real-IP
# that a trusted proxy (nginx) sets — never a client-supplied X-Forwarded-For.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # The session's user read with its profile, region and department in one query (cases.auth);
    # Django's own after it for sessions signed in before (the session names its backend).
    "cases.auth.ProfileBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"  # the app's Chinese page, not axes' English line
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# Content-Security-Policy (django-csp): every script and style comes from our own origin; no
# inline script, no style attribute, nothing from the internet.
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
