"""Who is asking costs one query: the user with the profile, region and department (cases.auth), for
a signed-in page and for an API token; sessions signed in before still work; a wrong password is
checked once, not once per backend."""

from __future__ import annotations

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


def _who_queries(captured) -> list[str]:
    """The queries that read the user, the profile or the profile's region and department."""
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].lstrip().upper().startswith("SELECT")
        and any(f'FROM "{table}"' in q["sql"] for table in ("auth_user", "cases_profile", "authtoken_token"))
    ]


@pytest.mark.parametrize("who", ["county_a", "dept_x_user"])
def test_a_page_reads_the_user_with_the_profile_in_one_query(client, request, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    assert client.session[BACKEND_SESSION_KEY] == "cases.auth.ProfileBackend"
    client.get(reverse("notifications:inbox"))
    with CaptureQueriesContext(connection) as captured:
        page = client.get(reverse("notifications:inbox"))
    assert page.status_code == 200
    assert user.username in page.content.decode() or page.context["user"].pk == user.pk
    (query,) = _who_queries(captured)
    assert '"cases_profile"' in query and '"cases_region"' in query and '"cases_department"' in query
    # …and nothing reads the region or the department by itself afterwards (the header's unit name).
    assert not [q for q in captured.captured_queries if q["sql"].lstrip().startswith('SELECT "cases_region"')]


def test_an_api_token_reads_its_user_with_the_profile_in_one_query(client, county_a, make_case):
    make_case()
    token = Token.objects.create(user=county_a)
    with CaptureQueriesContext(connection) as captured:
        listed = client.get("/api/v1/cases/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert listed.status_code == 200 and listed.json()["count"] == 1
    (query,) = _who_queries(captured)
    assert '"authtoken_token"' in query and '"cases_profile"' in query
    assert client.get("/api/v1/cases/", HTTP_AUTHORIZATION="Token wrong").status_code == 401


def test_a_session_signed_in_by_djangos_own_backend_still_works(client, county_a):
    client.force_login(county_a, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get(reverse("notifications:inbox")).status_code == 200


def test_a_wrong_password_is_checked_once_and_a_right_one_signs_in(client, county_a, monkeypatch):
    checked = []
    original = AbstractBaseUser.check_password

    def counting(self, raw_password):
        checked.append(self.username)
        return original(self, raw_password)

    monkeypatch.setattr(AbstractBaseUser, "check_password", counting)
    wrong = client.post(reverse("login"), {"username": "county_a", "password": "wrong"})
    assert wrong.status_code == 200 and "_auth_user_id" not in client.session
    assert checked == ["county_a"]  # not again by Django's ModelBackend after ours
    right = client.post(reverse("login"), {"username": "county_a", "password": "pass-county_a"})
    assert right.status_code == 302 and client.session[BACKEND_SESSION_KEY] == "cases.auth.ProfileBackend"
