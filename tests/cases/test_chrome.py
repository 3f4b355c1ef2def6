"""The everyday chrome: Chinese error pages, the favicon, DEBUG off unless asked, the admin in
Chinese with the city's title, holiday names in Chinese, the demo's progress and login list."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.template import loader
from django.test import override_settings
from django.urls import path
from django.utils import translation

from cases import workcalendar
from cases.models import CalendarDay

ROOT = Path(__file__).resolve().parents[2]
ENGLISH = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{4,}(?![A-Za-z0-9])")


def test_an_unknown_address_is_the_apps_chinese_404_without_the_resolvers_name(client, county_a):
    client.force_login(county_a)

    response = client.get("/no/such/page/")

    page = response.content.decode()
    assert response.status_code == 404
    assert "未找到" in page and "返回我的待办" in page
    assert "Resolver404" not in page and "tried" not in page


def test_an_object_outside_scope_reads_like_one_that_does_not_exist(client, county_b, make_case):
    case = make_case()
    client.force_login(county_b)

    outside = client.get(f"/cases/{case.pk}/")
    missing = client.get("/cases/999999/")

    assert outside.status_code == missing.status_code == 404
    assert "matches the given query" not in outside.content.decode()
    assert _main(outside) == _main(missing)


def _main(response) -> str:
    return response.content.decode().split("<main", 1)[1]


def test_the_500_page_renders_without_any_context():
    with translation.override("zh-hans"):
        page = loader.get_template("500.html").render()

    assert "出错了" in page and "favicon.svg" in page
    assert not ENGLISH.findall(re.sub(r"<[^>]+>", "", page.split("<body>", 1)[1]))


def _broken_view(request):
    raise RuntimeError("a bug")


urlpatterns = [path("broken/", _broken_view)]  # this module is the URLconf of the next test


@override_settings(DEBUG=False, ROOT_URLCONF=__name__)
def test_a_server_error_answers_with_the_chinese_500_page(client):
    client.raise_request_exception = False

    response = client.get("/broken/")

    assert response.status_code == 500
    assert "出错了" in response.content.decode() and "a bug" not in response.content.decode()


def test_a_form_sent_without_its_csrf_token_gets_the_chinese_expired_page(county_a):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(county_a)

    response = client.post("/cases/new/", {})

    assert response.status_code == 403
    assert "表单已过期" in response.content.decode()


def test_every_page_links_the_favicon_and_the_old_address_redirects(client):
    login = client.get("/login/").content.decode()
    icon = client.get("/favicon.ico")

    assert 'rel="icon"' in login and "favicon.svg" in login
    assert icon.status_code == 301 and icon["Location"].endswith("favicon.svg")


def test_debug_is_off_unless_asked_for_even_on_the_embedded_default():
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    code = (
        "import django; django.setup(); from django.conf import settings; print(settings.DEBUG, settings.EMAIL_BACKEND)"
    )

    off = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    on = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**env, "DEBUG": "true"}, capture_output=True, text=True, timeout=60
    )

    assert off.stdout.split() == ["False", "django.core.mail.backends.console.EmailBackend"], off.stderr
    assert on.stdout.split()[0] == "True"


@pytest.mark.parametrize("args, port", [(["8123"], "8123"), ([], "8124")])
def test_bin_run_takes_a_port_as_argument_or_from_the_environment(args, port):
    script = (ROOT / "bin" / "run").read_text()
    head = script.split('source "$(dirname "$0")/_venv"', 1)[0]

    result = subprocess.run(
        ["bash", "-c", head + 'echo "$PORT"', "run", *args],
        env={**os.environ, "PORT": "8124"},
        capture_output=True,
        text=True,
        timeout=10,
    )

    assert result.stdout.strip() == port
    assert 'runserver "127.0.0.1:$PORT"' in script


def test_bin_run_refuses_a_port_that_is_not_a_number():
    head = (ROOT / "bin" / "run").read_text().split('source "$(dirname "$0")/_venv"', 1)[0]

    result = subprocess.run(["bash", "-c", head, "run", "eighty"], capture_output=True, text=True, timeout=10)

    assert result.returncode == 2 and "usage" in result.stderr


def test_the_admin_has_the_citys_title_and_chinese_names_for_every_model_and_field(client, db):
    from django.contrib.auth import get_user_model

    with translation.override("zh-hans"):
        english = []
        for model in admin.site._registry:
            meta = model._meta
            names = [meta.verbose_name, meta.verbose_name_plural, meta.app_config.verbose_name]
            names += [f.verbose_name for f in meta.get_fields() if hasattr(f, "verbose_name") and f.name != "id"]
            english += [f"{meta.label}: {name}" for name in names if ENGLISH.search(str(name))]
    superuser = get_user_model().objects.create_superuser("root", password="root-pass-123")
    client.force_login(superuser)
    index = client.get("/admin/").content.decode()

    assert english == []
    with translation.override("zh-hans"):
        assert str(admin.site.site_header) == "信阳市企业问题台帐管理"
    assert "信阳市企业问题台帐管理" in index and "Django" not in index.split("<body", 1)[1]


def test_holidays_from_chinesecalendar_are_named_in_chinese(db):
    names = set(CalendarDay.objects.filter(kind="holiday").values_list("name", flat=True))

    assert {"春节", "国庆节", "元旦", "清明节", "劳动节", "端午节", "中秋节"} <= names
    assert not any(ENGLISH.search(name) for name in names)
    assert workcalendar.from_chinesecalendar(2025).holidays[__import__("datetime").date(2025, 10, 1)] == "国庆节"


def test_seed_demo_prints_progress_and_every_department_login(db):
    out = io.StringIO()
    call_command("seed_demo", "--cases", "40", stdout=out)
    logins = io.StringIO()
    call_command("print_demo_logins", stdout=logins)

    assert "demo cases 40/40 (100%" in out.getvalue()
    listing = logins.getvalue()
    from cases.models import Profile

    for profile in Profile.objects.filter(role="department").select_related("user"):
        assert profile.user.username in listing
    assert "罗山县 (411521)  office: county_411521" in listing
    assert "信阳市企业服务办公室" in listing
