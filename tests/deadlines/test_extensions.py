"""Extensions (延期): asked by the assigned department, decided by the office, in the ledger."""

import datetime as dt
import zoneinfo

import pytest
import time_machine

from cases import services
from cases.errors import InvalidInput, NotAllowed, NotFound, WrongState
from cases.models import ExtensionRequest
from ledger.models import LedgerEntry
from notifications.models import Notification

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def local(*args):
    return dt.datetime(*args, tzinfo=SHANGHAI)


def entries(case):
    return list(LedgerEntry.objects.filter(case=case).order_by("seq").values_list("action", "due_date"))


@pytest.mark.django_db
def test_department_asks_and_office_approves_the_due_date_moves(
    september_case, dept_x_user, county_a, django_capture_on_commit_callbacks
):
    with time_machine.travel(local(2025, 10, 13, 9), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            services.request_extension(september_case, by=dept_x_user, reason="需协调市级部门", days=3)
        assert "approve_extension" in services.available_actions(september_case, county_a)
        assert "request_extension" not in services.available_actions(september_case, dept_x_user)
        with django_capture_on_commit_callbacks(execute=True):
            case = services.approve_extension(september_case, by=county_a, note="同意")
    # Three working days after 2025-10-14.
    assert case.due_date == dt.date(2025, 10, 17)
    assert case.extension_days == 3
    request = ExtensionRequest.objects.get(case=case)
    assert request.status == "approved" and request.due_date_after == dt.date(2025, 10, 17)
    assert entries(case)[-2:] == [("request_extension", None), ("approve_extension", dt.date(2025, 10, 17))]
    approval = LedgerEntry.objects.filter(case=case, action="approve_extension").get()
    assert approval.payload["reason"] == "需协调市级部门"
    # The office was told of the request, the department of the decision.
    assert Notification.objects.filter(user=county_a, kind="extension", case=case).exists()
    assert Notification.objects.filter(user=dept_x_user, kind="extension", case=case).exists()


@pytest.mark.django_db
def test_rejection_keeps_the_due_date(september_case, dept_x_user, county_a):
    with time_machine.travel(local(2025, 10, 13, 9), tick=False):
        services.request_extension(september_case, by=dept_x_user, reason="材料未齐", days=2)
        case = services.reject_extension(september_case, by=county_a, note="请按期办结")
    assert case.due_date == dt.date(2025, 10, 14) and case.extension_days == 0
    assert entries(case)[-1] == ("reject_extension", None)
    assert ExtensionRequest.objects.get(case=case).status == "rejected"


@pytest.mark.django_db
def test_request_on_the_due_date_is_accepted_after_it_refused(september_case, dept_x_user):
    with time_machine.travel(local(2025, 10, 14, 17), tick=False):
        services.request_extension(september_case, by=dept_x_user, reason="on the last day", days=1)
    ExtensionRequest.objects.all().delete()
    before = entries(september_case)
    with time_machine.travel(local(2025, 10, 15, 9), tick=False):
        with pytest.raises(WrongState) as refused:
            services.request_extension(september_case, by=dept_x_user, reason="too late", days=1)
    assert refused.value.status == 409
    assert entries(september_case) == before


@pytest.mark.django_db
@pytest.mark.parametrize("days", [0, 11, -1, "abc"])
def test_request_over_the_limit_or_not_a_number_is_refused(september_case, dept_x_user, days):
    with time_machine.travel(local(2025, 10, 9, 9), tick=False):
        with pytest.raises(InvalidInput) as refused:
            services.request_extension(september_case, by=dept_x_user, reason="x", days=days)
    assert refused.value.field == "days"
    assert not ExtensionRequest.objects.exists()


@pytest.mark.django_db
def test_limit_comes_from_settings(september_case, dept_x_user, settings):
    settings.EXTENSION_MAX_DAYS = 15
    with time_machine.travel(local(2025, 10, 9, 9), tick=False):
        case = services.request_extension(september_case, by=dept_x_user, reason="大项目", days=15)
    assert ExtensionRequest.objects.get(case=case).days == 15


@pytest.mark.django_db
def test_reason_is_required(september_case, dept_x_user):
    with time_machine.travel(local(2025, 10, 9, 9), tick=False):
        with pytest.raises(InvalidInput) as refused:
            services.request_extension(september_case, by=dept_x_user, reason="  ", days=2)
    assert refused.value.field == "reason"


@pytest.mark.django_db
def test_second_request_while_one_is_pending_is_refused(september_case, dept_x_user):
    with time_machine.travel(local(2025, 10, 9, 9), tick=False):
        services.request_extension(september_case, by=dept_x_user, reason="a", days=2)
        with pytest.raises(WrongState):
            services.request_extension(september_case, by=dept_x_user, reason="b", days=2)
    assert ExtensionRequest.objects.count() == 1


@pytest.mark.django_db
def test_only_the_assigned_department_asks_and_only_the_office_decides(
    september_case, dept_y_user, dept_x_user, county_b, dept_z_user
):
    with time_machine.travel(local(2025, 10, 9, 9), tick=False):
        # Another department of the same county: not its case at all (outside its scope).
        with pytest.raises(NotFound):
            services.request_extension(september_case, by=dept_y_user, reason="a", days=2)
        services.request_extension(september_case, by=dept_x_user, reason="a", days=2)
        with pytest.raises(NotAllowed):
            services.approve_extension(september_case, by=dept_x_user)
        with pytest.raises(NotFound):
            services.approve_extension(september_case, by=county_b)
    assert ExtensionRequest.objects.get().status == "pending"


@pytest.mark.django_db
def test_decision_without_a_pending_request_is_a_conflict(september_case, county_a):
    with pytest.raises(WrongState):
        services.approve_extension(september_case, by=county_a)


@pytest.mark.django_db
def test_received_case_cannot_ask_for_an_extension(make_case, dept_x_user):
    case = make_case()
    with pytest.raises(NotFound):  # not routed to the department: outside its scope
        services.request_extension(case, by=dept_x_user, reason="x", days=1)


@pytest.mark.django_db
def test_approved_extension_makes_a_late_closing_on_time(september_case, dept_x_user, county_a, evidence_pdf):
    with time_machine.travel(local(2025, 10, 13, 9), tick=False):
        services.request_extension(september_case, by=dept_x_user, reason="需现场核查", days=3)
        services.approve_extension(september_case, by=county_a)
    with time_machine.travel(local(2025, 10, 16, 16), tick=False):
        case = services.resolve(september_case, by=dept_x_user, result="已解决", evidence=[evidence_pdf])
    assert case.on_time is True


@pytest.mark.django_db
def test_extension_pages_post_and_refuse_with_status(client, september_case, dept_x_user, county_a, dept_y_user):
    from django.urls import reverse

    url = reverse("cases:request_extension", args=[september_case.pk])
    client.force_login(dept_y_user)
    assert client.post(url, {"request_extension-days": 2, "request_extension-reason": "x"}).status_code == 404
    client.force_login(dept_x_user)
    with time_machine.travel(local(2025, 10, 9, 9), tick=False):
        page = client.get(reverse("cases:detail", args=[september_case.pk]))
        assert b"request-extension" in page.content
        bad = client.post(url, {"request_extension-days": 30, "request_extension-reason": "x"})
        assert bad.status_code == 400
        ok = client.post(url, {"request_extension-days": 2, "request_extension-reason": "需协调"})
        assert ok.status_code == 302
        again = client.post(url, {"request_extension-days": 2, "request_extension-reason": "需协调"})
        assert again.status_code == 409
        client.force_login(county_a)
        # The wrong role hears 403 before its (empty) form is looked at, as on the other actions.
        assert client.post(url, {}).status_code == 403
        page = client.get(reverse("cases:detail", args=[september_case.pk]))
        assert b"approve-extension" in page.content and "需协调" in page.content.decode()
        done = client.post(reverse("cases:approve_extension", args=[september_case.pk]), {"approve_extension-note": ""})
        assert done.status_code == 302
    september_case.refresh_from_db()
    assert september_case.due_date == dt.date(2025, 10, 16)


@pytest.mark.django_db
def test_mark_supervised_is_recorded_once(september_case):
    with time_machine.travel(local(2025, 10, 22, 9), tick=False):
        case = services.mark_supervised(september_case)
        case = services.mark_supervised(case)
    assert case.supervised is True
    assert [a for a, _d in entries(case)].count("supervise") == 1


@pytest.mark.django_db
def test_available_actions_read_an_annotation_without_a_query(
    september_case, dept_x_user, county_a, django_assert_num_queries
):
    from django.db.models import Exists, OuterRef

    from cases.models import Case

    with time_machine.travel(local(2025, 10, 9, 9), tick=False):
        services.request_extension(september_case, by=dept_x_user, reason="需协调", days=2)
        pending = ExtensionRequest.objects.filter(case=OuterRef("pk"), status="pending")
        case = (
            Case.objects.annotate(has_pending_extension=Exists(pending))
            .select_related("region")
            .get(pk=september_case.pk)
        )
        county_a.profile  # noqa: B018 - load the role before counting
        with django_assert_num_queries(0):
            assert "approve_extension" in services.available_actions(case, county_a)
