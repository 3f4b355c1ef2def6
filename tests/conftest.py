"""Shared fixtures: one user per role and region, files, and the real-service switches.

County A (浉河区) has departments X and Y; county B (平桥区) has department Z. Every view test can
pair an insider with an outsider from these.
"""

from __future__ import annotations

import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from cases.models import Category, Channel, Department, Region
from cases.users import create_user

IN_CI = os.environ.get("CI", "").lower() == "true"


def _missing_service(item) -> str | None:
    from django.conf import settings

    if "postgres" in item.keywords and not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return "needs PostgreSQL: set DATABASE_URL=postgres://…"
    if "redis" in item.keywords and not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL=redis://…"
    return None


def pytest_runtest_setup(item):
    """PostgreSQL/Redis tests skip on a bare machine with a reason, but fail when CI=true."""
    reason = _missing_service(item)
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true but this test {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, and at the end of the run no connection left open on it by
    another thread or process (a live server's, a killed worker's), so that it can be dropped."""
    yield
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _celery_in_process(request):
    """Tasks run in-process in tests, as on the embedded default, even when REDIS_URL is set
    (CI sets it); the real-worker tests (marked redis) configure the broker themselves."""
    if "redis" in request.keywords:
        yield
        return
    from config.celery import app

    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty Django cache: what one test's data left there (routing's
    word shares and category counts, cached for hours) must not answer for another's."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Password hashing is not under test; PBKDF2 per fixture user would dominate the run time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# Data migrations whose rows a transactional test's flush removes; each loader is idempotent.
DATA_MIGRATIONS = [
    ("cases.migrations.0002_reference_data", "load"),
    ("cases.migrations.0004_seed_calendar", "seed"),
    ("scoring.migrations.0002_default_rule_set", None),
]


def _reload_migration_data():
    import importlib

    from django.apps import apps
    from django.db.migrations.operations import RunPython

    for module_name, function in DATA_MIGRATIONS:
        module = importlib.import_module(module_name)
        if function:
            getattr(module, function)(apps, None)
            continue
        for operation in module.Migration.operations:
            if isinstance(operation, RunPython):
                operation.code(apps, None)


@pytest.fixture(autouse=True)
def _ledger_rows_removed_before_flush(request):
    """Transactional tests start without the reference data (an earlier flush removed it) and end
    with a flush; on SQLite that is DELETE, which the ledger's triggers refuse. Empty the ledger
    table with the triggers lifted, then put them back."""
    marker = request.node.get_closest_marker("django_db")
    transactional_mark = marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    if not (transactional_mark or {"transactional_db", "live_server"} & set(request.fixturenames)):
        yield
        return
    request.getfixturevalue("_django_db_helper" if transactional_mark else "transactional_db")
    _reload_migration_data()
    yield
    if connection.vendor != "sqlite":
        return
    from ledger import db_triggers

    db_triggers.drop(connection)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {db_triggers.TABLE}")
    db_triggers.create(connection)


@pytest.fixture
def region_a(db):
    return Region.objects.get(code="411502")


@pytest.fixture
def region_b(db):
    return Region.objects.get(code="411503")


@pytest.fixture
def city(db):
    return Region.objects.get(code="411500")


@pytest.fixture
def dept_x(region_a):
    return Department.objects.create(name="浉河区工信局", region=region_a)


@pytest.fixture
def dept_y(region_a):
    return Department.objects.create(name="浉河区人社局", region=region_a)


@pytest.fixture
def dept_z(region_b):
    return Department.objects.create(name="平桥区工信局", region=region_b)


@pytest.fixture
def city_dept(city):
    return Department.objects.create(name="市发改委", region=city)


@pytest.fixture
def category(db):
    return Category.objects.get(code="labour")


@pytest.fixture
def channel(db):
    return Channel.objects.get(code="hotline")


def _user(name, **kwargs):
    user, _ = create_user(name, password="pass-" + name, **kwargs)
    return user


@pytest.fixture
def county_a(region_a):
    return _user("county_a", role="county_office", region=region_a)


@pytest.fixture
def county_b(region_b):
    return _user("county_b", role="county_office", region=region_b)


@pytest.fixture
def city_user(city):
    return _user("city", role="city_office")


@pytest.fixture
def assessor(db):
    return _user("assessor", role="assessor")


@pytest.fixture
def dept_x_user(dept_x):
    return _user("dept_x", role="department", department=dept_x)


@pytest.fixture
def dept_y_user(dept_y):
    return _user("dept_y", role="department", department=dept_y)


@pytest.fixture
def dept_z_user(dept_z):
    return _user("dept_z", role="department", department=dept_z)


# Smallest real files of each kind the evidence check accepts or refuses by content.
PDF_BYTES = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def pdf_file(name="办理情况说明.pdf"):
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


@pytest.fixture
def evidence_pdf():
    return pdf_file()


@pytest.fixture
def make_case(county_a, category, channel, region_a):
    """Create a case through the service; keyword overrides for anything."""
    from cases import services

    counter = {"n": 0}

    def make(by=None, region=None, **overrides):
        counter["n"] += 1
        fields = dict(
            enterprise_name=f"信阳测试企业{counter['n']}有限公司",
            credit_code_value="914115683BJ1XG612H",
            category=category,
            channel=channel,
            description="季节性用工缺口约80人",
            contact_name="张三",
            contact_phone="13800000000",
        )
        fields.update(overrides)
        return services.create_case(by=by or county_a, region=region or region_a, **fields)

    return make


@pytest.fixture
def assigned_case(make_case, county_a, dept_x):
    from cases import services

    return services.assign(make_case(), by=county_a, department=dept_x)


@pytest.fixture
def september_case(make_case, county_a, dept_x):
    """Received 2025-09-30 10:00 Beijing time and routed that afternoon: due 2025-10-14 (the
    National Day week and its make-up days counted)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    import time_machine

    from cases import services

    beijing = ZoneInfo("Asia/Shanghai")
    with time_machine.travel(dt.datetime(2025, 9, 30, 15, tzinfo=beijing), tick=False):
        case = make_case(received_at=dt.datetime(2025, 9, 30, 10, tzinfo=beijing))
        case = services.assign(case, by=county_a, department=dept_x)
    assert case.due_date == dt.date(2025, 10, 14)
    return case


def xlsx_bytes(rows):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def api():
    """api(user) → a client logged in as that user (session auth, as the browser uses it)."""
    from rest_framework.test import APIClient

    def client_for(user=None):
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return client_for
