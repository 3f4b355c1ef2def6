"""Race answers (SPEC §2, §8): an action refused because the case moved on since the actor loaded
it — its state or department changed — is 409 "该问题已被他人处理，请刷新" on the page, in the
services and in the API; 403 stays for a user who never was the right actor."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from cases import services
from cases.errors import MovedOn, NotAllowed, WrongState
from cases.models import Case, Evidence, State
from ledger.models import LedgerEntry
from tests.conftest import pdf_file

pytestmark = pytest.mark.django_db

MOVED_ON = "该问题已被他人处理，请刷新"


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def entries(case) -> list[str]:
    return list(LedgerEntry.objects.filter(case=case).order_by("seq").values_list("action", flat=True))


def reload(case) -> Case:
    return Case.objects.get(pk=case.pk)


def post(client, name, case, data=None, *, seen=None):
    body = {f"{name}-{key}": value for key, value in (data or {}).items()}
    if seen is not None:
        body["seen"] = str(seen)
    return client.post(reverse(f"cases:{name}", args=[case.pk]), body)


def stored_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# -- the services --------------------------------------------------------------------------------


def test_resolving_a_case_returned_a_moment_earlier_is_moved_on(assigned_case, dept_x_user, settings):
    loaded = Case.objects.get(pk=assigned_case.pk)  # the clerk's copy, before the return
    services.return_case(assigned_case, by=dept_x_user, reason="不属本单位职责")
    with pytest.raises(MovedOn) as refused, translation.override("zh-hans"):
        services.resolve(loaded, by=dept_x_user, result="已解决", evidence=[pdf_file()])
    assert refused.value.status == 409 and MOVED_ON in refused.value.message
    assert entries(assigned_case) == ["create", "assign", "return"]
    assert not Evidence.objects.exists() and stored_files(settings) == []


def test_a_department_the_case_was_rerouted_from_hears_moved_on_not_forbidden(
    assigned_case, county_a, dept_y, dept_x_user
):
    services.reassign(assigned_case, by=county_a, department=dept_y)
    case = reload(assigned_case)  # loaded after the reroute: only the routing history tells
    for act in (
        lambda: services.require_actor(dept_x_user, case, office=False),
        lambda: services.acknowledge(case, by=dept_x_user),
        lambda: services.return_case(case, by=dept_x_user, reason="x"),
        lambda: services.request_extension(case, by=dept_x_user, reason="x", days=2),
        lambda: services.add_evidence(case, by=dept_x_user, evidence=[pdf_file()]),
    ):
        with pytest.raises(MovedOn):
            act()
    assert entries(case) == ["create", "assign", "reassign"]


def test_office_routing_a_case_someone_routed_meanwhile_is_moved_on(make_case, county_a, city_user, dept_x, dept_y):
    case = make_case()
    loaded = Case.objects.get(pk=case.pk)
    services.assign(case, by=city_user, department=dept_y)
    with pytest.raises(MovedOn):
        services.assign(loaded, by=county_a, department=dept_x)
    assert reload(case).department == dept_y


def test_a_wrong_state_seen_as_it_is_stays_a_plain_409(make_case, county_a):
    case = make_case()
    with pytest.raises(WrongState) as refused, translation.override("zh-hans"):
        services.reopen(case, by=county_a, reason="企业不满意")
    assert not isinstance(refused.value, MovedOn)
    assert "不能进行此操作" in refused.value.message


def test_a_user_who_never_was_the_right_actor_is_still_forbidden(assigned_case, county_a, assessor, dept_x_user):
    for user in (county_a, assessor):
        with pytest.raises(NotAllowed):
            services.require_actor(user, assigned_case, office=False)
    with pytest.raises(NotAllowed):  # a department taking an office action
        services.require_actor(dept_x_user, assigned_case, office=True)
    case = services.assign(
        services.create_case(
            by=county_a,
            region=assigned_case.region,
            enterprise_name="另一企业",
            credit_code_value="914115683BJ1XG612H",
            category=assigned_case.category,
            channel=assigned_case.channel,
            description="另一个问题",
        ),
        by=county_a,
        department=assigned_case.department,
    )
    services.return_case(case, by=dept_x_user, reason="x")
    with pytest.raises(NotAllowed):  # the office on a department's action, the case with nobody
        services.require_actor(county_a, reload(case), office=False)


def test_refusal_for_tells_the_three_answers_apart(make_case, county_a, city_user, assessor, dept_x, dept_y):
    case = make_case()
    seen = services.ledger_version(case)
    assert seen == 1
    assert services.refusal_for(case, county_a, "assign", office=True, seen=seen) is None
    services.assign(case, by=city_user, department=dept_y)
    case = reload(case)
    assert isinstance(services.refusal_for(case, county_a, "assign", office=True, seen=seen), MovedOn)
    current = services.ledger_version(case)
    plain = services.refusal_for(case, county_a, "assign", office=True, seen=current)
    assert isinstance(plain, WrongState) and not isinstance(plain, MovedOn)
    assert isinstance(services.refusal_for(case, assessor, "assign", office=True, seen=seen), NotAllowed)


@pytest.mark.parametrize(
    "value, parsed",
    [
        ("3", 3),
        (" 12 ", 12),
        ("", None),
        (None, None),
        ("-1", None),
        ("1.5", None),
        ("³", None),
        ("１２", None),
        ("9" * 10, None),
    ],
)
def test_a_sent_version_parses_as_ascii_digits_only(value, parsed):
    assert services.parse_version(value) == parsed


# -- the page ------------------------------------------------------------------------------------


def test_case_page_forms_carry_the_version_they_show(client, assigned_case, dept_x_user):
    client.force_login(dept_x_user)
    page = client.get(reverse("cases:detail", args=[assigned_case.pk])).content.decode()
    assert page.count('name="seen" value="2"') >= 4  # acknowledge, resolve, explain, return, …


def test_page_resolving_a_case_returned_a_moment_earlier_answers_409_with_a_clear_message(
    client, assigned_case, dept_x_user, settings
):
    services.return_case(assigned_case, by=dept_x_user, reason="不属本单位职责")
    client.force_login(dept_x_user)
    response = post(client, "resolve", assigned_case, {"result": "已解决", "evidence": [pdf_file()]}, seen=2)
    assert response.status_code == 409
    page = response.content.decode()
    assert MOVED_ON in page and "只有" not in page
    assert reload(assigned_case).state == State.RECEIVED
    assert entries(assigned_case) == ["create", "assign", "return"]
    assert not Evidence.objects.exists() and stored_files(settings) == []


def test_page_of_an_office_routed_by_someone_else_meanwhile_says_moved_on(
    client, make_case, county_a, city_user, dept_x, dept_y
):
    case = make_case()
    services.assign(case, by=city_user, department=dept_y)
    client.force_login(county_a)
    response = post(client, "assign", case, {"department": dept_x.pk}, seen=1)
    assert response.status_code == 409 and MOVED_ON in response.content.decode()
    assert reload(case).department == dept_y and entries(case) == ["create", "assign"]


def test_page_stale_version_does_not_turn_a_wrong_role_into_409(client, assigned_case, county_a, assessor):
    client.force_login(assessor)
    response = post(client, "reassign", assigned_case, {"department": assigned_case.department_id}, seen=1)
    assert response.status_code == 403
    client.force_login(county_a)
    response = post(client, "resolve", assigned_case, {"result": "代为办结", "evidence": [pdf_file()]}, seen=1)
    assert response.status_code == 403 and "只有" in response.content.decode()


def test_page_extension_request_after_the_case_was_rerouted_is_409(
    client, assigned_case, county_a, dept_y, dept_x_user
):
    services.reassign(assigned_case, by=county_a, department=dept_y)
    client.force_login(dept_x_user)
    response = client.post(
        reverse("cases:request_extension", args=[assigned_case.pk]),
        {"request_extension-days": "2", "request_extension-reason": "需协调", "seen": "2"},
    )
    assert response.status_code == 409 and MOVED_ON in response.content.decode()
    assert entries(assigned_case) == ["create", "assign", "reassign"]


def test_page_extension_decision_on_a_request_already_decided_is_409(
    client, assigned_case, county_a, city_user, dept_x_user
):
    services.request_extension(assigned_case, by=dept_x_user, reason="需协调", days=2)
    seen = services.ledger_version(assigned_case)
    services.reject_extension(assigned_case, by=city_user, note="不予延期")
    client.force_login(county_a)
    response = client.post(
        reverse("cases:approve_extension", args=[assigned_case.pk]), {"approve_extension-note": "", "seen": str(seen)}
    )
    assert response.status_code == 409 and MOVED_ON in response.content.decode()
    assert entries(assigned_case)[-1] == "reject_extension"
