"""What a department asked for goes with it: a case that is returned, rerouted or closed leaves
no pending extension request behind, and rerouting an extended case keeps the calendar labels
its due date was counted on (found by review)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from cases import services, workcalendar
from cases.errors import WrongState
from cases.models import Case, ExtensionRequest

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_returned_case_leaves_no_pending_request_for_the_next_department(
    county_a, assigned_case, dept_x_user, dept_y, dept_y_user
):
    services.request_extension(assigned_case, by=dept_x_user, reason="需要协调", days=3)
    services.return_case(assigned_case, by=dept_x_user, reason="不归我管")
    case = services.assign(assigned_case, by=county_a, department=dept_y)
    lapsed = ExtensionRequest.objects.get(case=case)
    assert lapsed.status == ExtensionRequest.Status.REJECTED and lapsed.decision_note
    with pytest.raises(WrongState):  # nothing is pending for the office to approve
        services.approve_extension(case, by=county_a)
    services.request_extension(case, by=dept_y_user, reason="需补充材料", days=2)  # Y may ask its own
    assert ExtensionRequest.objects.filter(case=case, status=ExtensionRequest.Status.PENDING).count() == 1


def test_rerouting_an_extended_case_keeps_the_provisional_years_label(county_a, make_case, dept_x, dept_x_user, dept_y):
    case = make_case(received_at=dt.datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI))
    case = services.assign(case, by=county_a, department=dept_x, complex=True)
    services.request_extension(case, by=dept_x_user, reason="需协调", days=10)
    case = services.approve_extension(case, by=county_a)
    assert case.due_date.year == 2027 and "2027" in case.calendar_version
    case = Case.objects.get(pk=services.reassign(case, by=county_a, department=dept_y).pk)
    assert "2027" in case.calendar_version and case.due_date_provisional
    due_before = case.due_date
    holidays = {dt.date(2027, 1, 1): "元旦", due_before: "假", due_before + dt.timedelta(days=1): "假"}
    workcalendar.enter_year(workcalendar.YearSchedule(2027, holidays=holidays), source="test", reference="t")
    case.refresh_from_db()
    assert case.due_date != due_before and not case.due_date_provisional
