"""Issue 10, probes 1 and 9: junk a client sends is a 4xx with a Chinese message, never a 500.

Run on SQLite here and on PostgreSQL in CI (NUL is harmless to SQLite but makes PostgreSQL refuse
the query, which is where the 500s came from).
"""

import datetime as dt
import json

import pytest
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token

from cases import services
from cases.models import Case

NUL_URLS = [
    "/api/v1/departments/?region=%00",
    "/api/v1/cases/?region=%00",
    "/api/v1/cases/?department=%00",
    "/api/v1/cases/?ref=a%00b",
    "/api/v1/notices/?region=%00",
    "/api/v1/notices/?status=%00",
    "/api/v1/notice-schedules/?region=%00",
    "/api/v1/scores/2026/?region=%00",
    "/api/v1/scores/2026/?rule_set=%00",
    "/api/v1/notifications/?unread=%1b",
    "/notices/?region=%00",
    "/ledger/?q=%00",
    "/ledger/export.csv?region=%00",
    "/scoring/2026/?cutoff=%00",
]
NUL_PATHS = [
    "/scoring/2026/%00/",
    "/notices/regions/%00/schedule/",
    "/api/v1/cases/%00/",
    "/api/v1/scores/2026/%00/items/1/",
]
NOT_ASCII_IDS = [
    "/api/v1/cases/%C2%B3/",  # superscript three: str.isdigit() says yes, int() says no
    "/api/v1/cases/%D9%A3/",  # Arabic-Indic three: int() says 3
    "/api/v1/cases/1.0/",
    "/api/v1/cases/-1/",
    "/api/v1/cases/0/",
    "/api/v1/cases/99999999999999999999999/",
    "/api/v1/cases/%C2%B3/ledger/",
    "/api/v1/notices/%D9%A3/",
    "/api/v1/notifications/%C2%B3/read/",
    "/api/v1/scores/%D9%A3%D9%A3%D9%A3%D9%A3/",
]


@pytest.fixture
def token_client(city_user):
    return Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=city_user).key}", raise_request_exception=False)


@pytest.fixture
def browser(city_user):
    client = Client(raise_request_exception=False)
    client.force_login(city_user)
    return client


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


@pytest.mark.django_db
@pytest.mark.parametrize("url", NUL_URLS)
def test_control_character_in_a_query_parameter_is_a_400(url, browser, make_case):
    make_case()
    response = browser.get(url)
    assert response.status_code == 400
    if url.startswith("/api/"):
        assert _is_chinese(response.json()["detail"])
    else:
        assert "NUL" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("url", NUL_PATHS)
def test_control_character_in_a_path_names_nothing(url, browser):
    assert browser.get(url).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("url", NOT_ASCII_IDS)
def test_ids_are_ascii_digits_only(url, token_client, make_case):
    make_case()  # id 1 exists; "³", "٣" and "1.0" must not find it or fail
    response = token_client.get(url) if "read" not in url else token_client.post(url)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field, value",
    [
        ("region", "\x00"),
        ("category", "\x00"),
        ("channel", "a\x00b"),
        ("region", "41\x1b1502"),
    ],
)
def test_nul_in_a_code_field_is_a_400(field, value, token_client):
    body = {
        "region": "411502",
        "enterprise": {"name": "信阳某公司", "credit_code": "914115683BJ1XG612H"},
        "category": "labour",
        "channel": "hotline",
        "description": "用工",
    }
    response = token_client.post("/api/v1/cases/", {**body, field: value}, content_type="application/json")
    assert response.status_code == 400
    assert not Case.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url, body",
    [
        ("/api/v1/departments/", {"region": "\x00", "name": "工信局"}),
        ("/api/v1/departments/", {"region": "411502", "name": "工信\x1b局"}),
        ("/api/v1/notices/", {"region": "\x00", "period": "2025-01"}),
        (
            "/api/v1/notice-schedules/",
            {
                "region": "411502",
                "frequency": "monthly",
                "recipients": [{"group": "city_office", "name": "\x00", "email": "a@b.cn"}],
            },
        ),
    ],
)
def test_nul_in_other_bodies_is_a_400(url, body, token_client):
    response = token_client.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code in (400, 404)
    assert _is_chinese(json.dumps(response.json(), ensure_ascii=False))


@pytest.mark.django_db
def test_nul_in_a_form_body_region_is_refused(token_client):
    response = token_client.post("/api/v1/notices/", {"region": "\x00", "period": "2025-01"})
    assert response.status_code == 404


@pytest.mark.django_db
def test_deeply_nested_json_is_a_400_not_a_recursion_error(token_client):
    body = "[" * 100_000 + "]" * 100_000
    response = token_client.post("/api/v1/cases/", body, content_type="application/json")
    assert response.status_code == 400
    assert _is_chinese(response.json()["detail"])


@pytest.mark.django_db
def test_json_nested_beyond_the_limit_is_a_400(token_client, settings):
    settings.API_JSON_MAX_DEPTH = 4
    body = {"region": "411502", "enterprise": {"name": {"a": {"b": {"c": 1}}}}}
    response = token_client.post("/api/v1/cases/", json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert "4" in response.json()["detail"]


@pytest.mark.django_db
def test_json_body_over_the_size_limit_is_a_400(token_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"region": "411502", "description": "x" * 2000})
    response = token_client.post("/api/v1/cases/", body, content_type="application/json")
    assert response.status_code == 400
    assert "1000" in response.json()["detail"]


@pytest.mark.django_db
def test_form_body_over_the_size_limit_is_a_json_400_on_the_api(token_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = token_client.post("/api/v1/departments/", {"region": "411502", "name": "x" * 2000})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert _is_chinese(response.json()["detail"])


@pytest.mark.django_db
def test_too_many_form_fields_is_a_json_400(token_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    body = "&".join(f"f{i}=1" for i in range(50))
    response = token_client.post("/api/v1/departments/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert _is_chinese(response.json()["detail"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body", ['{"region": "\\u0000"}', '{"\\u0000": 1}', '{"description": "\\ud800"}', "[NaN]", "{", '"\\ud83d"']
)
def test_unstorable_or_invalid_json_is_a_400(body, token_client):
    response = token_client.post("/api/v1/cases/", body, content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/scores/1999/",
        "/api/v1/scores/2200/",
        "/scoring/1999/",
        "/scoring/2200/",
    ],
)
def test_years_outside_2000_to_next_year_are_not_found(url, browser):
    assert browser.get(url).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/notices/?year=1999",
        "/api/v1/notices/?year=2999",
        "/api/v1/cases/?received_from=0001-01-01",
        "/api/v1/cases/?received_to=9999-12-31",
        "/api/v1/cases/?received_from=1999-12-31",
        "/api/v1/scores/2026/?cutoff=0001-01-01",
    ],
)
def test_dates_and_years_outside_the_sane_range_are_a_400(url, browser):
    response = browser.get(url)
    assert response.status_code == 400
    assert _is_chinese(json.dumps(response.json(), ensure_ascii=False))


@pytest.mark.django_db
def test_ledger_page_shows_an_out_of_range_filter_date_as_a_field_error(browser, make_case):
    make_case()
    response = browser.get("/ledger/?received_from=0001-01-01")
    assert response.status_code == 200
    assert "2000-01-01" in response.content.decode()
    assert len(response.context["table"].rows) == 1  # the bad bound is left out, not applied


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/notices/?year=1999", "/notices/regions/411502/draft/"])
def test_notice_pages_refuse_bad_years_and_periods(url, browser):
    response = browser.get(url) if "draft" not in url else browser.post(url, {"period": "1999-13"})
    assert response.status_code in (302, 400, 404)


@pytest.mark.django_db
@pytest.mark.parametrize("period", ["0001-01", "1999-12", "2025-Q9", "2025-13", "9999-01", "2025-\x00"])
def test_api_notice_periods_outside_the_range_are_a_400(period, token_client):
    response = token_client.post(
        "/api/v1/notices/", json.dumps({"region": "411502", "period": period}), content_type="application/json"
    )
    assert response.status_code == 400


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_receipt_before_year_one_already_stored_does_not_break_any_page(make_case, county_a, dept_x, city_user):
    """A time PostgreSQL holds and Python cannot (1 BC in UTC), stored before the input boundary
    refused it: every page that loads the case still answers."""
    broken = services.assign(make_case(), by=county_a, department=dept_x)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE cases_case SET received_at = '0001-01-01 00:00:00+08' WHERE id = %s", [broken.pk])
    client = Client(raise_request_exception=False)
    client.force_login(city_user)
    for url in [
        "/",
        "/ledger/",
        "/ledger/?sort=received_at",
        "/ledger/?sort=-received_at",
        f"/cases/{broken.pk}/",
        "/api/v1/cases/",
        f"/api/v1/cases/{broken.pk}/",
        "/ledger/export.xlsx",
        "/ledger/export.csv",
    ]:
        assert client.get(url).status_code == 200, url
    assert Case.objects.get(pk=broken.pk).received_at.year == 1


@pytest.mark.django_db
def test_receipts_far_in_the_past_stored_earlier_still_show(make_case, county_a, dept_x, city_user):
    """Year-1 and 1899 receipts already in the database (SQLite and PostgreSQL both hold them)."""
    old = make_case()
    routed = services.assign(make_case(), by=county_a, department=dept_x)
    Case.objects.filter(pk=old.pk).update(
        received_at=dt.datetime(1, 1, 1, 16, tzinfo=dt.UTC), due_date=dt.date(1, 1, 3)
    )
    Case.objects.filter(pk=routed.pk).update(received_at=dt.datetime(1899, 1, 1, tzinfo=dt.UTC))
    client = Client(raise_request_exception=False)
    client.force_login(city_user)
    for url in [
        "/",
        "/ledger/?sort=received_at",
        f"/cases/{old.pk}/",
        f"/cases/{routed.pk}/",
        "/api/v1/cases/",
        "/ledger/export.xlsx",
    ]:
        assert client.get(url).status_code == 200, url
