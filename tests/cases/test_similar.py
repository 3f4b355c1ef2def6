"""Similar cases at intake (重复件): the same enterprise's cases of the last 365 days whose wording
is close — flagged in the case JSON, in the intake page's preview, and on the case page."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from cases.similar import bigrams, closeness, similar_for_cases, similar_to_text

pytestmark = pytest.mark.django_db

CODE = "914115683BJ1XG612H"  # make_case's enterprise
OTHER_CODE = "91411502MA40K0JX58"

NEAR = [
    ("流动资金贷款续贷审批周期过长", "流动资金贷款续贷审批周期太长，影响生产"),
    ("季节性用工缺口约80人", "季节性用工缺口约100人，希望协调"),
    ("厂房扩建规划许可办理缓慢", "厂房扩建规划许可迟迟未批"),
    ("企业反映用地指标不足，希望协调解决", "用地指标不足，影响二期项目开工"),
]
FAR = [
    ("技术工人招聘困难", "季节性用工缺口约80人"),  # the same category (用工对接), another problem
    ("厂房扩建规划许可办理缓慢", "施工许可办理时限过长"),  # both about permits, little wording shared
    ("电价优惠政策未落实", "技改补贴资金未拨付"),
    ("企业反映问题，希望协调解决", "企业反映问题，请求尽快解决"),  # only the words every complaint uses
]


@pytest.mark.parametrize(("a", "b"), NEAR)
def test_near_texts_are_close(a, b):
    from cases.similar import THRESHOLD

    assert closeness(bigrams(a), bigrams(b)) >= THRESHOLD


@pytest.mark.parametrize(("a", "b"), FAR)
def test_far_texts_are_not(a, b):
    from cases.similar import THRESHOLD

    assert closeness(bigrams(a), bigrams(b)) < THRESHOLD


def test_punctuation_spacing_and_full_width_forms_do_not_matter():
    assert bigrams("用地指标 不足！") == bigrams("用地指标不足")
    assert bigrams("ＡＢＣ") == bigrams("abc")


def test_a_repeated_complaint_is_flagged_when_it_is_logged_through_the_api(client, county_a, make_case):
    first = make_case(description="流动资金贷款续贷审批周期过长")
    make_case(description="技术工人招聘困难")  # same enterprise, far text
    client.force_login(county_a)
    response = client.post(
        "/api/v1/cases/",
        {
            "region": "411502",
            "enterprise": {"name": "信阳测试企业有限公司", "credit_code": CODE},
            "category": "finance",
            "channel": "hotline",
            "description": "续贷审批周期太长，流动资金紧张",
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    similar = response.json()["similar"]
    assert [s["number"] for s in similar] == [first.number]
    assert similar[0]["state"] == "received" and similar[0]["received_at"].startswith(
        first.received_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    )
    # The earlier case itself lists nothing: similar cases are the ones before it.
    assert client.get(f"/api/v1/cases/{first.pk}/").json()["similar"] == []


def test_another_enterprise_or_a_case_older_than_a_year_is_not_similar(make_case, county_a):
    now = dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC)
    make_case(
        description="流动资金贷款续贷审批周期过长",
        credit_code_value=OTHER_CODE,
        enterprise_name="另一家企业有限公司",
        received_at=now - dt.timedelta(days=3),
        now=now,
    )
    make_case(description="流动资金贷款续贷审批周期过长", received_at=now - dt.timedelta(days=366), now=now)
    recent = make_case(description="流动资金贷款续贷审批周期过长", received_at=now - dt.timedelta(days=364), now=now)
    found = similar_to_text(county_a, credit_code=CODE, description="流动资金贷款续贷审批周期太长", now=now)
    assert [s.number for s in found] == [recent.number]


def test_a_county_is_never_told_of_another_countys_case(make_case, county_a, county_b, region_b, city_user):
    theirs = make_case(by=county_b, region=region_b, description="流动资金贷款续贷审批周期过长")
    assert similar_to_text(county_a, credit_code=CODE, description="流动资金贷款续贷审批周期过长") == []
    assert [
        s.number for s in similar_to_text(city_user, credit_code=CODE, description="流动资金贷款续贷审批周期过长")
    ] == [theirs.number]


def test_the_intake_preview_endpoint(client, county_a, make_case):
    first = make_case(description="季节性用工缺口约80人")
    client.force_login(county_a)
    found = client.get("/api/v1/similar-cases/", {"credit_code": CODE.lower(), "description": "季节性用工缺口约100人"})
    assert found.status_code == 200
    assert [s["number"] for s in found.json()["similar"]] == [first.number]
    none = client.get("/api/v1/similar-cases/", {"credit_code": CODE, "description": "厂区排水管网堵塞"})
    assert none.json()["similar"] == []
    typing = client.get("/api/v1/similar-cases/", {"credit_code": "9141156", "description": "季节性用工缺口"})
    assert typing.status_code == 200 and typing.json()["similar"] == [] and typing.json()["credit_code_problem"]
    assert client.get("/api/v1/similar-cases/", {"credit_code": CODE}).json() == {"description": ["问题内容为必填项。"]}
    assert client.get("/api/v1/similar-cases/", {"credit_code": CODE, "description": "x" * 5001}).status_code == 400
    client.logout()
    assert client.get("/api/v1/similar-cases/", {"credit_code": CODE, "description": "x"}).status_code == 401


def test_intake_page_carries_the_preview_and_its_script_is_a_local_file(client, county_a):
    client.force_login(county_a)
    page = client.get("/cases/new/").content.decode()
    assert 'class="similar-preview"' in page and "/static/js/similar_cases.js" in page
    assert "该企业近期已反映过类似问题" in page
    assert "<script>" not in page  # no inline script: the CSP allows only our own files


def test_the_case_page_shows_the_similar_cases_and_links_the_enterprise(client, county_a, make_case):
    first = make_case(description="厂房扩建规划许可办理缓慢")
    second = make_case(description="厂房扩建规划许可迟迟未批")
    client.force_login(county_a)
    page = client.get(f"/cases/{second.pk}/").content.decode()
    assert first.number in page and "该企业近期已反映过类似问题" in page
    assert f"/enterprises/{CODE}/" in page


def test_the_case_list_finds_similar_cases_in_one_query_for_the_page(
    client, county_a, make_case, django_assert_max_num_queries
):
    for n in range(6):
        make_case(description=f"流动资金贷款续贷审批周期过长（第{n}次）")
    client.force_login(county_a)
    # session, user, profile, count, page, similar candidates (one for the page), pending extensions
    with django_assert_max_num_queries(8):
        results = client.get("/api/v1/cases/").json()["results"]
    by_number = {r["number"]: r for r in results}
    oldest = min(by_number)
    assert by_number[oldest]["similar"] == []
    assert all(len(r["similar"]) >= 1 for n, r in by_number.items() if n != oldest)


def test_similar_for_cases_matches_one_at_a_time(county_a, make_case):
    cases = [make_case(description=text) for text in ("用地指标不足", "用地指标不足，影响开工", "电价优惠政策未落实")]
    together = similar_for_cases(county_a, cases)
    for case in cases:
        assert together[case.pk] == similar_for_cases(county_a, [case])[case.pk]


def test_a_transition_answer_carries_similar_too(client, county_a, make_case, dept_x):
    first = make_case(description="天然气供应不稳定")
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5), tick=False):
        second = make_case(description="天然气供应不稳定，影响生产")
    client.force_login(county_a)
    answer = client.post(
        f"/api/v1/cases/{second.pk}/assign/", {"department": dept_x.pk}, content_type="application/json"
    )
    assert answer.status_code == 200 and [s["number"] for s in answer.json()["similar"]] == [first.number]
