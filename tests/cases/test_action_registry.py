"""The action registry (cases.actions) is the one declaration the FSM, the services, the case
page, the API and the timeline read: adding an action is one entry plus its service."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from django.urls import NoReverseMatch, resolve, reverse
from django.utils import translation
from django_fsm import has_transition_perm

from cases import actions, forms, serializers, services, workdays
from cases.actions import ACTIONS, Actor, Page
from cases.api import CaseViewSet
from cases.models import Case, State
from cases.views import case_action
from ledger.heads import CLOSING_ACTIONS, ROUTING_ACTIONS, UNROUTING_ACTIONS
from ledger.models import LedgerEntry
from tests.conftest import pdf_file

CASES_DIR = Path(__file__).resolve().parents[2] / "cases"


def _keywords(function) -> set[str]:
    return {name for name, p in inspect.signature(function).parameters.items() if p.kind is p.KEYWORD_ONLY}


@pytest.mark.parametrize("name", list(ACTIONS))
def test_every_action_has_its_service_a_label_and_its_actors(name):
    action = ACTIONS[name]
    service = getattr(services, action.service)
    assert "by" in _keywords(service) or name == "create"
    assert action.actors and action.records
    with translation.override("zh-hans"):
        label = actions.label_of(name)
    assert label != name and not label.isascii(), "a Chinese label for the timeline"


@pytest.mark.parametrize("name", [a.name for a in actions.on_case()])
def test_every_case_action_has_a_button_a_message_a_url_and_a_form_its_service_takes(name):
    action = ACTIONS[name]
    assert action.button and action.done
    with translation.override("zh-hans"):
        assert not str(action.button).isascii() and not str(action.done).isascii()
    url = reverse(f"cases:{name}", args=[1])
    assert url == f"/cases/1/{action.slug}/"
    match = resolve(url)
    if action.page is Page.FORM:
        assert match.func is case_action and match.kwargs["action"] == name
    form = getattr(forms, action.form)
    # The page calls the service with the form's fields as its arguments.
    assert set(form.base_fields) <= _keywords(getattr(services, action.service))


def test_actions_off_the_case_page_have_no_url():
    for action in ACTIONS.values():
        if not action.on_case:
            with pytest.raises(NoReverseMatch):
                reverse(f"cases:{action.name}", args=[1])


def test_the_api_routes_are_the_registrys_actions_with_their_bodies():
    routes = {route.url_path: route for route in CaseViewSet.get_extra_actions()}
    offered = {a.slug: a for a in actions.on_case() if a.summary}
    assert set(routes) - {"ledger"} == set(offered)
    for slug, action in offered.items():
        assert routes[slug].mapping == {"post": routes[slug].__name__}
        if action.body:
            fields = set(getattr(serializers, action.body)().fields)
            assert fields <= _keywords(getattr(services, action.service)) | {"department"}


def test_the_fsm_transitions_are_the_registrys():
    declared = {t.custom["action"]: t for t in Case._meta.get_field("state").get_all_transitions(Case)}
    with_transition = {a.name for a in ACTIONS.values() if a.transition}
    assert set(declared) == with_transition
    for name, transition in declared.items():
        action = ACTIONS[name]
        assert transition.name == action.transition
        assert transition.target == action.to_state
        assert transition.source in action.from_states


def test_the_ledgers_replay_kinds_agree_with_the_registry():
    assert set(CLOSING_ACTIONS) == set(actions.closing())
    assert set(ROUTING_ACTIONS) == set(actions.routing())
    for name in UNROUTING_ACTIONS:
        assert ACTIONS[name].to_state == State.RECEIVED


@pytest.mark.django_db
def test_fsm_permission_is_the_registrys_who_may(assigned_case, county_a, county_b, dept_x_user, dept_y_user):
    case = Case.objects.get(pk=assigned_case.pk)
    assert has_transition_perm(case.reassign, county_a)
    assert not has_transition_perm(case.reassign, county_b)
    assert has_transition_perm(case.acknowledge, dept_x_user)
    assert not has_transition_perm(case.acknowledge, dept_y_user)
    assert not has_transition_perm(case.acknowledge, county_a)


@pytest.mark.django_db
def test_every_ledger_entry_records_what_its_action_declares(
    make_case, county_a, city_user, dept_x, dept_y, dept_x_user, dept_y_user, django_capture_on_commit_callbacks
):
    case = make_case()
    with django_capture_on_commit_callbacks(execute=True):
        services.assign(case, by=county_a, department=dept_x)
        services.acknowledge(case, by=dept_x_user)
        services.request_extension(case, by=dept_x_user, reason="需协调", days=2)
        services.approve_extension(case, by=county_a, note="同意")
        services.request_extension(case, by=dept_x_user, reason="再协调", days=1)
        services.reject_extension(case, by=city_user, note="")
        services.add_evidence(case, by=dept_x_user, evidence=[pdf_file()], note="过程材料")
        services.reassign(case, by=county_a, department=dept_y)
        services.return_case(case, by=dept_y_user, reason="非本单位职责")
        services.assign(case, by=county_a, department=dept_x, complex=True)
        services.mark_supervised(case, by=county_a)
        services.resolve(case, by=dept_x_user, result="已解决", evidence=[pdf_file()])
        services.reopen(case, by=county_a, reason="企业不满意")
        services.explain(
            case, by=dept_x_user, result="政策外", policy_basis="某文件", redirect_to="市局", evidence=[pdf_file()]
        )
        services.record_follow_up(case, by=county_a, satisfaction="satisfied")
        services.add_note(
            case,
            by=county_a,
            note="请抓紧回访",
            purpose="reminder",
            details={"department_name": dept_x.name, "due_date": "2026-01-05", "recipients": [dept_x_user.username]},
        )
        services.set_recomputed_due_date(
            case.pk, working_days=5, calendar=workdays.current_calendar(), reason="日历变更"
        )
    written = LedgerEntry.objects.filter(case_id=case.pk).order_by("seq")
    seen = set()
    for entry in written:
        assert set(entry.payload) == set(ACTIONS[entry.action].records), entry.action
        seen.add(entry.action)
    assert seen == set(ACTIONS)


def test_the_department_actions_are_taken_by_the_assigned_department_only():
    for action in ACTIONS.values():
        if Actor.DEPARTMENT in action.actors:
            assert action.from_states == (State.ASSIGNED,)
            assert not action.office


def test_cases_services_never_import_the_apps_above():
    above = {"notifications", "notices", "scoring"}
    for path in (CASES_DIR / "services").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                assert node.module.split(".")[0] not in above, path.name
            elif isinstance(node, ast.Import):
                assert not {alias.name.split(".")[0] for alias in node.names} & above, path.name
