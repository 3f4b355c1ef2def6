"""Production hardening: check --deploy, secure cookies, CSP, login throttling, compose file."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.urls import reverse

from config.secret_key import DEVELOPMENT_SECRET_KEY, weak_secret_key_reason

ROOT = Path(__file__).resolve().parents[2]


def production_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "caseledger.example.gov.cn",
            "CSRF_TRUSTED_ORIGINS": "https://caseledger.example.gov.cn",
            "HTTPS": "true",
            "DATABASE_URL": "postgres://caseledger:secret@127.0.0.1:5432/caseledger",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
    )
    env.update(extra)
    return env


def test_production_settings_pass_check_deploy():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# -- no default secrets: with DEBUG off a missing, default or placeholder key stops every process --


def env_example_secret_key() -> str:
    for line in (ROOT / "deploy" / "env.example").read_text().splitlines():
        if line.startswith("SECRET_KEY="):
            return line.split("=", 1)[1]
    raise AssertionError("deploy/env.example has no SECRET_KEY line")


@pytest.mark.parametrize(
    "key",
    [
        "",
        DEVELOPMENT_SECRET_KEY,
        "env.example",
        "short",
        "django-insecure-" + "x7Kq2" * 10,
        "ChangeMe" + secrets.token_urlsafe(64),
        secrets.token_urlsafe(64) + "-placeholder",
        "ab" * 40,
    ],
    # (named, not by their random values: parallel workers must collect the same tests)
    ids=["empty", "development", "env.example", "short", "django-insecure", "changeme", "placeholder", "repeated"],
)
def test_weak_secret_keys_are_named_with_a_reason(key):
    key = env_example_secret_key() if key == "env.example" else key
    assert weak_secret_key_reason(key)


def test_a_random_key_is_accepted():
    assert weak_secret_key_reason(secrets.token_urlsafe(64)) is None


def _without_key(**extra):
    env = production_env(**extra)
    if "SECRET_KEY" not in extra:
        env.pop("SECRET_KEY")
    return env


@pytest.mark.parametrize("key", [None, DEVELOPMENT_SECRET_KEY, "env.example", "short"])
def test_check_deploy_refuses_a_missing_default_or_placeholder_key(key):
    env = (
        _without_key()
        if key is None
        else production_env(SECRET_KEY=env_example_secret_key() if key == "env.example" else key)
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY" in result.stderr
    assert "With DEBUG off the app does not start" in result.stderr


def test_gunicorn_and_celery_refuse_to_start_without_a_key():
    gunicorn = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--check-config", "config.wsgi:application"],
        cwd=ROOT,
        env=_without_key(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert gunicorn.returncode != 0
    assert "SECRET_KEY is not set" in gunicorn.stdout + gunicorn.stderr
    celery = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-Q", "timers"],
        cwd=ROOT,
        env=_without_key(SECRET_KEY=env_example_secret_key()),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert celery.returncode != 0
    assert "SECRET_KEY looks like a placeholder" in celery.stdout + celery.stderr


def _settings_in_a_subprocess(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.pop("SECRET_KEY", None)
    env.pop("DEBUG", None)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; from django.conf import settings; django.setup(); "
            "print(settings.DEBUG, settings.SECRET_KEY)",
        ],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings", **extra},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_debug_on_runs_on_the_development_key_without_configuration():
    result = _settings_in_a_subprocess(DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", DEVELOPMENT_SECRET_KEY]


def test_debug_is_off_unless_asked_for_so_no_key_means_no_start():
    # A deployment (a DATABASE_URL): bin/run's own .secret_key, kept for the embedded default, never counts.
    result = _settings_in_a_subprocess(DATABASE_URL="postgres://nobody@127.0.0.1:1/none")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


@pytest.mark.django_db
def test_cookies_are_secure_and_http_only_over_https(client, settings, county_a):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    response = client.get(reverse("login"), secure=True)
    assert response.cookies["csrftoken"]["secure"]
    logged_in = client.post(reverse("login"), {"username": "county_a", "password": "pass-county_a"}, secure=True)
    assert logged_in.status_code == 302
    session = logged_in.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"


@pytest.mark.django_db
def test_every_page_carries_a_strict_content_security_policy(client, county_a):
    client.force_login(county_a)
    for url in (reverse("login"), reverse("notifications:inbox"), reverse("healthz")):
        policy = client.get(url).headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy
        assert "style-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy


@pytest.mark.django_db
def test_my_pages_have_no_inline_script_or_style(client, county_a):
    client.force_login(county_a)
    html = client.get(reverse("notifications:inbox")).content.decode()
    assert "<script>" not in html and "style=" not in html and "<style" not in html


# -- login throttling ---------------------------------------------------------------------------


def _login(client, username, password, **headers):
    return client.post(reverse("login"), {"username": username, "password": password}, **headers)


@pytest.mark.django_db
def test_login_locks_out_after_repeated_failures_even_with_the_right_password(client, county_a, settings):
    statuses = [_login(client, "county_a", "wrong").status_code for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    locked = _login(client, "county_a", "pass-county_a")
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_spoofed_forwarded_for_does_not_reset_the_lockout(client, county_a, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "county_a", "wrong", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    again = _login(
        client, "county_a", "pass-county_a", HTTP_X_FORWARDED_FOR="203.0.113.77", HTTP_X_REAL_IP="203.0.113.78"
    )
    assert again.status_code == 429


@pytest.mark.django_db
def test_lockout_is_per_username_and_address(client, county_a, county_b, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "county_a", "wrong")
    # Another user from the same address, and the same user from another address, still log in.
    assert _login(client, "county_b", "pass-county_b").status_code == 302
    client.logout()
    assert _login(client, "county_a", "pass-county_a", REMOTE_ADDR="198.51.100.9").status_code == 302


def test_real_ip_is_believed_only_from_a_trusted_proxy(rf, settings):
    from config.client_ip import client_ip

    settings.TRUSTED_PROXIES = ["172.16.0.0/12"]
    spoof = rf.get("/", REMOTE_ADDR="198.51.100.1", HTTP_X_REAL_IP="10.9.9.9", HTTP_X_FORWARDED_FOR="10.8.8.8")
    assert client_ip(spoof) == "198.51.100.1"
    proxied = rf.get("/", REMOTE_ADDR="172.18.0.5", HTTP_X_REAL_IP="198.51.100.2", HTTP_X_FORWARDED_FOR="1.1.1.1")
    assert client_ip(proxied) == "198.51.100.2"


# -- deploy/ files ----------------------------------------------------------------------------


def queues_of(command) -> set[str]:
    """The queues a `celery worker` command line consumes (--queues X,Y / --queues=X,Y / -Q X,Y)."""
    words = command.split() if isinstance(command, str) else list(command)
    for n, word in enumerate(words):
        if word in ("--queues", "-Q"):
            return set(words[n + 1].split(","))
        if word.startswith("--queues="):
            return set(word.split("=", 1)[1].split(","))
    raise AssertionError(f"no --queues in {command!r}: the worker would take every queue")


def test_compose_file_has_the_required_services_and_settings():
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "timers", "worker", "beat", "nginx"} <= set(services)
    redis_command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis_command and "--maxmemory-policy noeviction" in redis_command
    assert services["beat"]["deploy"]["replicas"] == 1
    assert "beat" in services["beat"]["command"] and "worker" in services["worker"]["command"]
    # The timers have a worker of their own; imports and the other long jobs another.
    assert queues_of(services["timers"]["command"]) == {"timers"}
    assert queues_of(services["worker"]["command"]) == {"imports", "default"}
    assert services["web"]["command"][0] == "gunicorn"
    for name in ("web", "timers", "worker", "beat"):
        service = services[name]
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:")
        assert service["environment"]["DATABASE_URL"].startswith("postgres://")
    for volume in compose["volumes"]:
        assert volume in {"pgdata", "redisdata", "media", "static"}
    for service in services.values():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            assert source.startswith(".") or source in compose["volumes"], mount


def test_nginx_serves_attachments_internally_and_limits_uploads():
    conf = (ROOT / "deploy" / "nginx" / "caseledger.conf").read_text()
    assert "location /_protected/" in conf and "internal;" in conf
    assert "client_max_body_size 25m;" in conf
    assert "proxy_set_header X-Real-IP $remote_addr;" in conf
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    assert compose["services"]["web"]["environment"]["EVIDENCE_X_ACCEL_PREFIX"] == "/_protected"


def test_env_example_covers_what_settings_read():
    example = (ROOT / "deploy" / "env.example").read_text()
    for key in (
        "SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "ALLOWED_HOSTS",
        "HTTPS",
        "TRUSTED_PROXIES",
        "EMAIL_HOST",
        "EVIDENCE_X_ACCEL_PREFIX",
        "SWEEP_INTERVAL_SECONDS",
        "IMPORT_TIME_LIMIT_SECONDS",
        "IMPORT_JOB_DEAD_AFTER_SECONDS",
    ):
        assert f"\n{key}=" in example


def test_systemd_units_parse_and_run_exactly_one_beat():
    import configparser

    units = {}
    for path in (ROOT / "deploy" / "systemd").glob("*.service"):
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.optionxform = str
        parser.read_string(path.read_text())
        assert {"Unit", "Service", "Install"} <= set(parser.sections()), path
        units[path.name] = parser
    assert "beat" in units["caseledger-beat.service"]["Service"]["ExecStart"]
    assert "@" not in "caseledger-beat.service"  # not a template: one instance
    assert "worker" in units["caseledger-worker@.service"]["Service"]["ExecStart"]
    assert queues_of(units["caseledger-worker@.service"]["Service"]["ExecStart"]) == {"imports", "default"}
    assert queues_of(units["caseledger-timers.service"]["Service"]["ExecStart"]) == {"timers"}


def test_bin_run_starts_a_timers_worker_and_a_jobs_worker_with_redis():
    script = (ROOT / "bin" / "run").read_text()
    with_redis = script[script.index('if [ -n "${REDIS_URL:-}" ]') : script.index("else")]
    workers = [line for line in with_redis.splitlines() if "celery -A config worker" in line]
    assert sorted(map(frozenset, map(queues_of, workers))) == sorted(
        [frozenset({"timers"}), frozenset({"imports", "default"})]
    )
    assert "manage.py run_timers" in script[script.index("else") :]


@pytest.mark.django_db
def test_api_docs_work_under_the_policy(client, city_user):
    import re

    client.force_login(city_user)
    page = client.get("/api/schema/swagger/")
    html = page.content.decode()
    # No inline script: Swagger UI's start-up script is a separate file from our origin.
    assert not [s for s in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.S) if s.strip()]
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    script = client.get("/api/schema/swagger/?script=")
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("application/javascript")
    assert "cdn" not in html.lower()
