"""Case list, detail, creation and ledger over the API: scoping, filters, pagination, errors."""

import datetime as dt

import pytest
import time_machine

from cases import services
from cases.models import Case

pytestmark = pytest.mark.django_db

BODY = {
    "region": "411502",
    "enterprise": {"name": "信阳毛尖茶业有限公司", "credit_code": "914115683BJ1XG612H", "size": "规模以上"},
    "category": "labour",
    "channel": "热线电话",
    "description": "季节性用工缺口约80人",
    "contact_name": "李四",
    "contact_phone": "13900000000",
}


def test_county_office_creates_a_case_with_codes_or_chinese_names(api, county_a):
    response = api(county_a).post("/api/v1/cases/", BODY, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"].startswith("411502-") and body["state"] == "received"
    assert body["region"] == "411502" and body["category"] == "labour" and body["channel"] == "hotline"
    assert body["enterprise"] == {
        "name": "信阳毛尖茶业有限公司",
        "credit_code": "914115683BJ1XG612H",
        "size": "above_scale",
    }
    assert body["department"] is None and body["due_date"] and body["due_date_provisional"] is False
    assert body["closed_at"] is None and body["on_time"] is None and body["available_actions"] == ["assign"]
    assert Case.objects.get(pk=body["id"]).ledger_entries.get().source == "api"
    named = dict(BODY, region="浉河区", category="用工对接", channel="hotline")
    assert api(county_a).post("/api/v1/cases/", named, format="json").status_code == 201
    # Without a size the enterprise keeps the one on record; a new enterprise is "other".
    sizeless = dict(BODY, enterprise={"name": "信阳毛尖茶业有限公司", "credit_code": "914115683BJ1XG612H"})
    assert api(county_a).post("/api/v1/cases/", sizeless, format="json").json()["enterprise"]["size"] == "above_scale"
    from cases.credit_code import check_character

    code = "91411502MA00000A1" + check_character("91411502MA00000A1")
    new = dict(BODY, enterprise={"name": "新企业有限公司", "credit_code": code})
    response = api(county_a).post("/api/v1/cases/", new, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["enterprise"]["size"] == "other"


@time_machine.travel(dt.datetime(2025, 9, 30, 10, 0, tzinfo=dt.UTC), tick=False)
def test_received_at_in_the_past_sets_the_due_date_by_the_holiday_calendar(api, county_a):
    body = dict(BODY, received_at="2025-09-30T09:00:00+08:00")
    response = api(county_a).post("/api/v1/cases/", body, format="json")
    assert response.status_code == 201
    assert response.json()["due_date"] == "2025-10-14"


def test_create_refuses_bad_input_with_the_field(api, county_a):
    client = api(county_a)
    bad_code = dict(BODY, enterprise=dict(BODY["enterprise"], credit_code="914115683BJ1XG612A"))
    response = client.post("/api/v1/cases/", bad_code, format="json")
    errors = response.json()["enterprise"]
    assert response.status_code == 400 and any(message.startswith("credit_code: ") for message in errors)
    response = client.post("/api/v1/cases/", dict(BODY, category="nonsense"), format="json")
    assert response.status_code == 400 and "category" in response.json()
    response = client.post("/api/v1/cases/", dict(BODY, received_at="2999-01-01T00:00:00+08:00"), format="json")
    assert response.status_code == 400 and "received_at" in response.json()
    response = client.post("/api/v1/cases/", {k: v for k, v in BODY.items() if k != "description"}, format="json")
    assert response.status_code == 400 and "description" in response.json()
    assert Case.objects.count() == 0


def test_create_by_wrong_role_403_other_region_404(api, county_a, dept_x_user, assessor):
    assert api(dept_x_user).post("/api/v1/cases/", BODY, format="json").status_code == 403
    assert api(assessor).post("/api/v1/cases/", BODY, format="json").status_code == 403
    assert api(county_a).post("/api/v1/cases/", dict(BODY, region="411503"), format="json").status_code == 404
    assert Case.objects.count() == 0


def test_duplicate_ref_in_a_region_is_400(api, county_a):
    client = api(county_a)
    assert client.post("/api/v1/cases/", dict(BODY, ref="PROV-1"), format="json").status_code == 201
    response = client.post("/api/v1/cases/", dict(BODY, ref="PROV-1"), format="json")
    assert response.status_code == 400 and "ref" in response.json()


def test_list_is_scoped_per_role(
    api, make_case, county_a, county_b, city_user, assessor, dept_x_user, dept_y_user, dept_x, region_b
):
    mine = services.assign(make_case(), by=county_a, department=dept_x)
    make_case()
    make_case(by=county_b, region=region_b)
    counts = {
        user.username: api(user).get("/api/v1/cases/").json()["count"]
        for user in (county_a, county_b, city_user, assessor, dept_x_user, dept_y_user)
    }
    assert counts == {"county_a": 2, "county_b": 1, "city": 3, "assessor": 3, "dept_x": 1, "dept_y": 0}
    assert api(dept_x_user).get("/api/v1/cases/").json()["results"][0]["id"] == mine.pk


def test_detail_outside_scope_is_404(api, make_case, county_b, dept_y_user, assessor):
    case = make_case()
    assert api(county_b).get(f"/api/v1/cases/{case.pk}/").status_code == 404
    assert api(dept_y_user).get(f"/api/v1/cases/{case.pk}/").status_code == 404
    assert api(assessor).get(f"/api/v1/cases/{case.pk}/").status_code == 200
    assert api(assessor).get("/api/v1/cases/99999999999999999999999/").status_code == 404
    assert api(assessor).get("/api/v1/cases/abc/").status_code == 404


def test_list_filters(api, make_case, county_a, county_b, city_user, dept_x, region_b):
    old = make_case(received_at=dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC))
    services.assign(old, by=county_a, department=dept_x)
    recent = make_case()
    other = make_case(by=county_b, region=region_b)
    client = api(city_user)

    def ids(query):
        response = client.get("/api/v1/cases/?" + query)
        assert response.status_code == 200, response.content
        return {case["id"] for case in response.json()["results"]}

    assert ids("region=411503") == {other.pk}
    assert ids("region=浉河区") == {old.pk, recent.pk}
    assert ids("state=assigned") == {old.pk}
    assert ids(f"department={dept_x.pk}") == {old.pk}
    assert ids("overdue=true") == {old.pk}
    assert ids("received_from=2025-02-01&received_to=2025-03-01") == {old.pk}
    assert ids("received_to=2025-02-28") == set()
    assert ids(f"received_from=2000-01-01&received_to={dt.date.today().year + 1}-12-31&region=411502") == {
        old.pk,
        recent.pk,
    }
    # Days outside 2000 … next year are refused (cases.input_rules), not read as "no bound".
    assert client.get("/api/v1/cases/?received_from=0001-01-01").status_code == 400
    assert client.get("/api/v1/cases/?received_to=9999-12-31").status_code == 400
    assert ids("overdue=false&region=411502") == {recent.pk}
    assert client.get("/api/v1/cases/?state=closed").status_code == 400
    assert client.get("/api/v1/cases/?received_from=yesterday").status_code == 400


def test_list_is_paginated(api, make_case, county_a, django_assert_max_num_queries):
    for _ in range(3):
        make_case()
    client = api(county_a)
    # session + user + profile, count, page of cases with their related rows
    with django_assert_max_num_queries(8):
        body = client.get("/api/v1/cases/?page_size=2").json()
    assert set(body) == {"count", "count_capped", "next", "previous", "results"}
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"] and body["previous"] is None
    assert body["count_capped"] is False


@pytest.mark.parametrize("user_fixture", ["county_a", "dept_x_user"])
def test_list_of_assigned_cases_does_not_query_per_case(
    api, make_case, county_a, dept_x, request, user_fixture, django_assert_max_num_queries
):
    from cases import services

    client = api(request.getfixturevalue(user_fixture))
    for size in (3, 25):
        while Case.objects.count() < size:
            services.assign(make_case(), by=county_a, department=dept_x)
        # session, user, profile (+ department), count, the page with its related rows and the
        # pending-extension annotation: the same bound at both sizes.
        with django_assert_max_num_queries(9):
            body = client.get("/api/v1/cases/?page_size=50").json()
        assert body["count"] == size
        assert all("available_actions" in row for row in body["results"])


def test_ledger_lists_the_hash_chain(api, assigned_case, county_a, county_b):
    response = api(county_a).get(f"/api/v1/cases/{assigned_case.pk}/ledger/")
    assert response.status_code == 200
    entries = response.json()
    assert [e["action"] for e in entries] == ["create", "assign"]
    assert set(entries[0]) >= {
        "seq",
        "action",
        "from_state",
        "to_state",
        "actor",
        "occurred_at",
        "source",
        "payload",
        "prev_hash",
        "hash",
    }
    assert entries[1]["prev_hash"] == entries[0]["hash"] and entries[0]["actor"] == "county_a"
    assert api(county_b).get(f"/api/v1/cases/{assigned_case.pk}/ledger/").status_code == 404


def test_anonymous_gets_401(api, make_case):
    assert api().get("/api/v1/cases/").status_code == 401
    assert api().post("/api/v1/cases/", BODY, format="json").status_code == 401
