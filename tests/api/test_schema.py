"""schemathesis against /api/schema/ on a seeded database, authenticated with a token:
no 500s, and every response matches the documented schema (status, content type, body)."""
import datetime as dt

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cases import services
from notifications.models import Notification
from tests.conftest import pdf_file


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The WSGI application, unlike Django's test client, closes "old" connections at the start
    and end of each request; on PostgreSQL that closes the connection holding the test's
    transaction. Keep it open, as the test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def seeded(db, make_case, county_a, dept_x, dept_x_user, city_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    received = make_case()
    assigned = services.assign(make_case(), by=county_a, department=dept_x)
    closed = services.resolve(services.assign(make_case(received_at=dt.datetime(2025, 3, 3, 1, tzinfo=dt.UTC)),
                                              by=county_a, department=dept_x),
                              by=dept_x_user, result="已协调解决", evidence=[pdf_file()])
    Notification.objects.create(user=city_user, kind="overdue", message="已超期", case=assigned)
    return {"cases": [received, assigned, closed], "token": Token.objects.create(user=city_user).key}


# Loaded from the running application's /api/schema/ (no database needed to describe the API).
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
# Cases, departments, ledger, transitions, imports and the inbox: every response must conform.
CORE = r"^/api/v1/(cases|departments|imports|notifications)/"
BOUNDED = settings(max_examples=6, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
                   suppress_health_check=list(HealthCheck))


@schema.include(path_regex=CORE).parametrize()
@BOUNDED
def test_core_api_conforms_to_its_schema(case, seeded):
    case.call_and_validate(headers={"Authorization": f"Token {seeded['token']}"}, checks=CHECKS)


@schema.exclude(path_regex=CORE).parametrize()
@settings(BOUNDED, max_examples=4)
def test_rest_of_the_api_never_answers_500(case, seeded):
    # Notices and scores are documented by their own apps; here the whole API is held to "no 500s".
    case.call_and_validate(headers={"Authorization": f"Token {seeded['token']}"}, checks=[not_a_server_error])
