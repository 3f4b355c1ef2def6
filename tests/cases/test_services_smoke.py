import pytest

from cases import services
from cases.errors import InvalidInput, NotAllowed, WrongState
from cases.models import State
from ledger.completeness import missing_for_case
from ledger.models import LedgerEntry
from ledger.verify import verify_cases
from tests.conftest import pdf_file


def test_full_life_writes_a_verifiable_chain(make_case, county_a, dept_x, dept_x_user):
    case = make_case()
    assert case.number.startswith("411502-") and case.state == State.RECEIVED
    case = services.assign(case, by=county_a, department=dept_x)
    case = services.acknowledge(case, by=dept_x_user)
    case = services.resolve(case, by=dept_x_user, result="已协调解决", evidence=[pdf_file()])
    assert case.state == State.RESOLVED
    actions = list(LedgerEntry.objects.filter(case=case).values_list("action", flat=True))
    assert actions == ["create", "assign", "acknowledge", "resolve"]
    assert list(verify_cases(type(case).objects.filter(pk=case.pk))) == []
    assert missing_for_case(case) == []


def test_resolve_without_evidence_is_refused(assigned_case, dept_x_user):
    with pytest.raises(InvalidInput):
        services.resolve(assigned_case, by=dept_x_user, result="x", evidence=[])
    assert LedgerEntry.objects.filter(case=assigned_case).count() == 2


def test_wrong_department_may_not_resolve(assigned_case, dept_y_user):
    with pytest.raises(Exception) as info:
        services.resolve(assigned_case, by=dept_y_user, result="x", evidence=[pdf_file()])
    assert info.type.__name__ in {"NotFound", "NotAllowed"}


def test_reopen_from_received_is_wrong_state(make_case, county_a):
    with pytest.raises(WrongState):
        services.reopen(make_case(), by=county_a, reason="不满意")


def test_department_cannot_create(dept_x_user, make_case):
    with pytest.raises(NotAllowed):
        make_case(by=dept_x_user)
