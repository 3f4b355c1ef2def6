"""Routing suggestions learned from a county's own history (three departments, three topics)."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.forms import AssignForm
from cases.models import Category, Department
from cases.routing_suggestions import suggest, suggest_for_case
from tests.search.conftest import NEW_TEXTS, TOPICS, dept_user_for

pytestmark = pytest.mark.django_db
URL = "/api/v1/routing-suggestions/"


def names(suggestions) -> list[str]:
    return [s.department.name for s in suggestions]


@pytest.mark.parametrize("topic", list(NEW_TEXTS))
def test_each_new_text_goes_to_the_department_that_closed_its_kind(topic, county_history, region_a):
    suggestions = suggest(region=region_a, description=NEW_TEXTS[topic], now=timezone.now())
    assert names(suggestions)[0] == TOPICS[topic][0]
    assert len(suggestions) <= 3
    assert [s.score for s in suggestions] == sorted((s.score for s in suggestions), reverse=True)
    first = suggestions[0]
    assert set(first.similar) <= {c.number for c in county_history[topic]} and first.similar
    assert first.reason == f"近一年 {first.closed_last_year} 件类似问题由{TOPICS[topic][0]}办结"


def test_a_return_teaches_that_the_department_was_wrong_for_that_text(
    county_history, topic_departments, make_case, county_a, region_a
):
    text = "厂区用电增容申请，变压器报装"
    assert names(suggest(region=region_a, description=text, now=timezone.now()))[0] == "浉河区供电公司"
    power = topic_departments["power"]
    from cases.users import create_user

    returner = create_user("power_returner", role="department", department=power, password="x-pass-1")[0]
    for _ in range(6):  # the power company keeps sending such texts back: they belong to another body
        case = services.assign(make_case(description=text), by=county_a, department=power)
        services.return_case(case, by=returner, reason="不属于本单位职责")
    suggestions = suggest(region=region_a, description=text, now=timezone.now())
    assert "浉河区供电公司" not in names(suggestions)


def test_another_countys_history_is_not_learned_nor_shown(county_history, region_b, county_b, make_case, client):
    elsewhere = Department.objects.create(region=region_b, name="平桥区供电公司")
    # County B has no history of its own: only its category's usual department, city-wide, may come up.
    assert suggest(region=region_b, description=NEW_TEXTS["power"], now=timezone.now()) == []
    client.force_login(county_b)
    body = client.get(URL, {"region": "411503", "description": NEW_TEXTS["power"]}).json()
    assert body == []
    assert client.get(URL, {"region": "411502", "description": NEW_TEXTS["power"]}).status_code == 404
    assert elsewhere.pk  # a department of its own, never suggested from county A's cases


def test_the_citys_departments_step_in_where_the_county_has_none(
    make_case, county_a, region_a, city_dept, topic_departments
):
    # No county department ever handled these: the city's department did.
    Department.objects.filter(region=region_a).update(active=False)
    handler = dept_user_for(city_dept)
    from tests.conftest import pdf_file

    for text in TOPICS["power"][2]:
        case = services.assign(make_case(description=text), by=county_a, department=city_dept)
        services.resolve(case, by=handler, result="已解决", evidence=[pdf_file()])
    assert names(suggest(region=region_a, description=NEW_TEXTS["power"], now=timezone.now())) == [city_dept.name]


def test_the_categorys_usual_department_is_the_fallback_for_a_text_nothing_resembles(county_history, region_a):
    suggestions = suggest(
        region=region_a, description="夜间噪声扰民", now=timezone.now(), category=Category.objects.get(code="finance")
    )
    assert names(suggestions) == ["浉河区金融工作局"]
    assert suggestions[0].reason == "“银企对接”类问题通常由浉河区金融工作局办理"
    assert suggestions[0].similar == []


def test_history_after_the_moment_asked_about_is_not_used(county_history, region_a):
    before = county_history["power"][0].received_at
    assert suggest(region=region_a, description=NEW_TEXTS["power"], now=before) == []


# -- the API ----------------------------------------------------------------------------------------


def test_the_api_answers_up_to_three_departments_best_first(client, county_history, county_a, topic_departments):
    client.force_login(county_a)
    response = client.get(URL, {"region": "411502", "category": "labour", "description": NEW_TEXTS["labour"]})
    assert response.status_code == 200
    body = response.json()
    assert 1 <= len(body) <= 3
    first = body[0]
    assert first["department"] == {"id": topic_departments["labour"].pk, "name": "浉河区人社局"}
    assert 0 < first["score"] <= 1 and first["similar"] and first["reason"].startswith("近一年")
    by_name = client.get(URL, {"region": "浉河区", "category": "用工对接", "description": NEW_TEXTS["labour"]})
    assert by_name.json() == body


@pytest.mark.parametrize(
    "params, field",
    [
        ({"description": "用电增容"}, "region"),
        ({"region": "411502"}, "description"),
        ({"region": "411502", "description": "  "}, "description"),
        ({"region": "411502", "description": "增" * 5001}, "description"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client, county_a, params, field):
    client.force_login(county_a)
    response = client.get(URL, params)
    assert response.status_code == 400
    assert field in response.json()


def test_control_characters_in_the_text_are_a_400(client, county_a):
    client.force_login(county_a)
    response = client.get(URL, {"region": "411502", "description": "用电\x1b增容"})
    assert response.status_code == 400 and "控制字符" in response.json()["detail"]


def test_only_offices_ask_and_only_for_their_regions(client, dept_x_user, county_a):
    client.force_login(dept_x_user)
    assert client.get(URL, {"region": "411502", "description": "用电增容"}).status_code == 403
    client.force_login(county_a)
    assert client.get(URL, {"region": "999999", "description": "用电增容"}).status_code == 404
    response = client.get(URL, {"region": "411502", "description": "用电增容", "category": "nonsense"})
    assert response.status_code == 404 and response.json() == {"detail": "没有这个问题类别。"}
    client.logout()
    assert client.get(URL, {"region": "411502", "description": "用电增容"}).status_code == 401


def test_a_suggestion_takes_under_50_ms(county_history, region_a):
    suggest(region=region_a, description=NEW_TEXTS["finance"], now=timezone.now())  # warm
    started = time.perf_counter()
    for text in NEW_TEXTS.values():
        suggest(region=region_a, description=text, now=timezone.now())
    assert (time.perf_counter() - started) / len(NEW_TEXTS) < 0.05


# -- the pages --------------------------------------------------------------------------------------


def test_the_assign_form_preselects_the_first_suggestion_and_says_why(
    client, county_history, county_a, make_case, topic_departments
):
    case = make_case(description=NEW_TEXTS["finance"])
    form = AssignForm(case=case)
    assert form.fields["department"].initial == topic_departments["finance"].pk
    client.force_login(county_a)
    page = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert f'<option value="{topic_departments["finance"].pk}" selected>' in page
    reason = form.suggestions[0].reason
    assert reason.startswith("近一年 ") and reason.endswith("件类似问题由浉河区金融工作局办结") and reason in page


def test_a_returned_case_is_not_suggested_back_to_the_department_that_returned_it(
    county_history, county_a, make_case, topic_departments
):
    finance = topic_departments["finance"]
    case = services.assign(make_case(description=NEW_TEXTS["finance"]), by=county_a, department=finance)
    services.return_case(case, by=dept_user_for(finance), reason="应由人行负责")
    case.refresh_from_db()
    assert finance.name not in names(suggest_for_case(case, now=timezone.now()))


def test_the_intake_page_logs_and_routes_in_one_step(client, county_a, dept_x, category, channel):
    client.force_login(county_a)
    page = client.get(reverse("cases:intake")).content.decode()
    assert 'data-url="/api/v1/routing-suggestions/"' in page and 'id="id_department"' in page
    response = client.post(
        reverse("cases:intake"),
        {
            "enterprise_name": "信阳纺织有限公司",
            "credit_code": "91411502MA46H6U16W",
            "enterprise_size": "other",
            "category": category.pk,
            "channel": channel.pk,
            "description": "季节性用工缺口约80人",
            "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "department": dept_x.pk,
        },
    )
    assert response.status_code == 302
    from cases.models import Case

    case = Case.objects.get()
    assert case.state == "assigned" and case.department == dept_x


def test_an_intake_routed_to_a_department_it_may_not_take_logs_nothing(
    client, city_user, region_a, dept_z, category, channel
):
    client.force_login(city_user)
    response = client.post(
        reverse("cases:intake"),
        {
            "region": region_a.pk,
            "enterprise_name": "信阳纺织有限公司",
            "credit_code": "91411502MA46H6U16W",
            "enterprise_size": "other",
            "category": category.pk,
            "channel": channel.pk,
            "description": "用工缺口",
            "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "department": dept_z.pk,
        },
    )
    assert response.status_code == 400
    from cases.models import Case

    assert not Case.objects.exists()
