"""The scores endpoints: SPEC §6 JSON, entering points, who may see and do what."""

from __future__ import annotations

import json

import pytest

from scoring.models import AuditEvent, ItemEntry, Override

from .conftest import at

pytestmark = pytest.mark.django_db


def test_scores_json_has_the_spec_shape(client, assessor, history, region_a):
    case = history(at(2025, 3, 3), closed=at(2025, 3, 4))
    client.force_login(assessor)
    response = client.get("/api/v1/scores/2025/")
    assert response.status_code == 200
    data = json.loads(response.content)
    assert list(data) == ["year", "cutoff", "rule_set", "regions"]
    assert (data["year"], data["cutoff"], data["rule_set"]) == (2025, "2025-12-20", "xinyang-2012")
    codes = [r["code"] for r in data["regions"]]
    assert codes == sorted(codes) and len(codes) == 10 and "411500" not in codes
    first = data["regions"][0]
    assert list(first) == ["code", "name", "rank", "total", "items", "overrides"]
    assert list(first["items"]) == [str(n) for n in range(1, 22)]
    assert first["items"]["1"] == {"points": None, "max": "6", "auto": False, "note": ""}
    assert first["items"]["15"]["on_time"] == 1 and first["items"]["15"]["points"] == "4"
    assert first["items"]["13"] == {
        "points": "4",
        "max": "4",
        "auto": True,
        "complete": 1,
        "total": 1,
        "rate": "1.0000",
        "incomplete": [],
    }
    assert first["total"] == "8"
    assert case.number not in response.content.decode()


def test_region_and_cutoff_parameters(client, assessor, history, region_a):
    client.force_login(assessor)
    data = client.get("/api/v1/scores/2025/?region=浉河区&cutoff=2025-06-30").json()
    assert data["cutoff"] == "2025-06-30" and [r["code"] for r in data["regions"]] == ["411502"]
    assert client.get("/api/v1/scores/2025/?cutoff=2024-12-20").status_code == 400
    assert client.get("/api/v1/scores/2025/?cutoff=nonsense").status_code == 400
    assert client.get("/api/v1/scores/2025/?region=999999").status_code == 404
    assert client.get("/api/v1/scores/2025/?rule_set=nope").status_code == 404


def test_county_office_reads_only_its_own_region(client, county_a, dept_x_user, region_b):
    client.force_login(county_a)
    data = client.get("/api/v1/scores/2025/").json()
    assert [r["code"] for r in data["regions"]] == ["411502"]
    assert client.get("/api/v1/scores/2025/?region=411503").status_code == 404
    client.force_login(dept_x_user)
    assert client.get("/api/v1/scores/2025/").status_code == 404


def test_assessor_enters_and_overrides(client, assessor, region_a):
    client.force_login(assessor)
    url = "/api/v1/scores/2025/411502/items/1/"
    response = client.put(url, {"points": "5.5", "note": "方案齐全"}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["points"] == "5.5"
    response = client.put("/api/v1/scores/2025/411502/items/15/", {"points": "3"}, content_type="application/json")
    assert response.status_code == 400 and "note" in response.json()
    response = client.put(
        "/api/v1/scores/2025/411502/items/15/", {"points": "3", "note": "抽查企业核实"}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["computed"] == "0"
    data = client.get("/api/v1/scores/2025/?region=411502").json()["regions"][0]
    assert data["items"]["1"] == {"points": "5.5", "max": "6", "auto": False, "note": "方案齐全"}
    assert data["items"]["15"]["points"] == "3" and data["items"]["15"]["not_assessable"] is True
    assert data["overrides"][0]["item"] == "15" and data["overrides"][0]["computed"] == "0"
    assert data["overrides"][0]["reason"] == "抽查企业核实" and data["overrides"][0]["by"] == "assessor"
    assert data["total"] == "8.5"
    assert AuditEvent.objects.filter(action="entry").count() == 1
    assert AuditEvent.objects.filter(action="override").count() == 1


@pytest.mark.parametrize(
    ("points", "message_field"),
    [("6.5", "points"), ("-1", "points"), ("2.25", "points"), ("abc", "points"), ("", "points"), ("NaN", "points")],
)
def test_bad_points_are_refused_and_nothing_is_written(client, assessor, region_a, points, message_field):
    client.force_login(assessor)
    response = client.put(
        "/api/v1/scores/2025/411502/items/1/", {"points": points, "note": "x"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert message_field in response.json()
    assert not ItemEntry.objects.exists() and not AuditEvent.objects.filter(action="entry").exists()


def test_only_assessors_enter(client, city_user, county_a, county_b, region_a):
    body = {"points": "2", "note": "x"}
    client.force_login(city_user)
    assert client.put("/api/v1/scores/2025/411502/items/1/", body, content_type="application/json").status_code == 403
    client.force_login(county_a)
    assert client.put("/api/v1/scores/2025/411502/items/1/", body, content_type="application/json").status_code == 403
    client.force_login(county_b)
    assert client.put("/api/v1/scores/2025/411502/items/1/", body, content_type="application/json").status_code == 404
    assert not ItemEntry.objects.exists() and not Override.objects.exists()


def test_unknown_item_or_region(client, assessor, region_a):
    client.force_login(assessor)
    body = {"points": "1", "note": "x"}
    assert client.put("/api/v1/scores/2025/411502/items/22/", body, content_type="application/json").status_code == 404
    assert client.put("/api/v1/scores/2025/000000/items/1/", body, content_type="application/json").status_code == 404
    assert client.put("/api/v1/scores/2025/411500/items/1/", body, content_type="application/json").status_code == 404


def test_derived_items_19_and_21(client, assessor, region_a):
    client.force_login(assessor)
    r = client.put("/api/v1/scores/2025/411502/items/19/", {"inputs": {"reports": 15}}, content_type="application/json")
    assert r.status_code == 200 and r.json()["points"] == "6"
    r = client.put("/api/v1/scores/2025/411502/items/19/", {"inputs": {"reports": 7}}, content_type="application/json")
    assert r.json()["points"] == "3.5"
    survey = {"rate": "0.93", "participating": 120, "above_scale": 100}
    r = client.put("/api/v1/scores/2025/411502/items/21/", {"inputs": survey}, content_type="application/json")
    assert r.json()["points"] == "8"
    survey = {"rate": "82%", "participating": 120, "above_scale": 100}
    assert (
        client.put("/api/v1/scores/2025/411502/items/21/", {"inputs": survey}, content_type="application/json").json()[
            "points"
        ]
        == "4"
    )
    survey = {"rate": "99%", "participating": 99, "above_scale": 100}
    assert (
        client.put("/api/v1/scores/2025/411502/items/21/", {"inputs": survey}, content_type="application/json").json()[
            "points"
        ]
        == "0"
    )
    r = client.put(
        "/api/v1/scores/2025/411502/items/21/",
        {"inputs": {"rate": "1.2", "participating": 1, "above_scale": 0}},
        content_type="application/json",
    )
    assert r.status_code == 400
