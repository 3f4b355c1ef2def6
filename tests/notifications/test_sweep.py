"""The deadline sweep with time frozen around the 2025 National Day week.

Case received and routed Tuesday 2025-09-30, due Tuesday 2025-10-14 (5 working days; 1–8 October
are holidays, Saturday 11 October is a make-up working day):

  acknowledge_due  Thu 10-09  (first working day after the day of routing)
  due_soon         Sat 10-11  (2 working days left: the make-up Saturday and Monday)
  overdue          Wed 10-15
  escalated        Fri 10-17  (3 working days after the due date)
  supervised       Tue 10-21  (5 working days after: 15, 16, 17, 20, 21)
"""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core import mail

from cases import services
from notifications import sweep, transports
from notifications.models import Delivery, Notification, Reminder, SweepRun

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def local(*args):
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def people(county_a, dept_x_user, city_user, county_b):
    for user, address in (
        (county_a, "county@a.example"),
        (dept_x_user, "dept@x.example"),
        (city_user, "city@example"),
        (county_b, "county@b.example"),
    ):
        user.email = address
        user.save()
    return {"county": county_a, "dept": dept_x_user, "city": city_user, "other_county": county_b}


@pytest.fixture
def routed(september_case, people):
    return september_case


@pytest.fixture
def run_on(django_capture_on_commit_callbacks):
    def run(*moment):
        with time_machine.travel(local(*moment), tick=False):
            with django_capture_on_commit_callbacks(execute=True):
                return sweep.run_sweep()

    return run


def kinds(case):
    return set(Reminder.objects.filter(case=case, status="sent").values_list("kind", flat=True))


FIRES = [
    ("acknowledge_due", (2025, 10, 8, 9), (2025, 10, 9, 9)),
    ("due_soon", (2025, 10, 10, 9), (2025, 10, 11, 9)),
    ("overdue", (2025, 10, 14, 18), (2025, 10, 15, 9)),
    ("escalated", (2025, 10, 16, 9), (2025, 10, 17, 9)),
    ("supervised", (2025, 10, 20, 9), (2025, 10, 21, 9)),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "day_before", "day_of"), FIRES, ids=[f[0] for f in FIRES])
def test_each_reminder_fires_on_its_working_day(routed, run_on, kind, day_before, day_of):
    run_on(*day_before)
    assert kind not in kinds(routed)
    run_on(*day_of)
    assert kind in kinds(routed)


@pytest.mark.django_db
def test_recipients_per_kind(routed, run_on, people):
    run_on(2025, 10, 21, 9)  # everything due at once (a sweep catching up)

    def users(kind):
        return set(Notification.objects.filter(case=routed, kind=kind).values_list("user__username", flat=True))

    assert users("acknowledge_due") == {"dept_x"}
    assert users("overdue") == {"dept_x", "county_a"}
    assert users("escalated") == {"city"}
    assert users("supervised") == {"dept_x", "county_a"}
    # The county office of another region hears nothing.
    assert not Notification.objects.filter(user=people["other_county"]).exists()
    routed.refresh_from_db()
    assert routed.supervised is True
    # A due-soon reminder whose moment passed unswept is not sent late.
    assert not Reminder.objects.filter(case=routed, kind="due_soon").exists()


@pytest.mark.django_db
def test_sweep_run_twice_sends_nothing_twice(routed, run_on):
    first = run_on(2025, 10, 15, 9)
    notes, emails = Notification.objects.count(), len(mail.outbox)
    assert first.sent >= 2 and emails == notes
    second = run_on(2025, 10, 15, 9, 5)
    assert second.sent == 0 and second.planned == 0
    assert Notification.objects.count() == notes and len(mail.outbox) == emails
    assert Reminder.objects.filter(case=routed, kind="overdue").count() == 1


@pytest.mark.django_db
def test_closed_cases_get_no_reminders(routed, run_on, dept_x_user, evidence_pdf):
    run_on(2025, 10, 11, 9)  # due_soon sent
    with time_machine.travel(local(2025, 10, 13, 9), tick=False):
        services.resolve(routed, by=dept_x_user, result="已解决", evidence=[evidence_pdf])
    run_on(2025, 10, 22, 9)
    assert kinds(routed) == {"acknowledge_due", "due_soon"}
    assert not Reminder.objects.filter(case=routed, kind__in=["overdue", "escalated", "supervised"]).exists()


@pytest.mark.django_db
def test_acknowledged_case_gets_no_acknowledgement_reminder(routed, run_on, dept_x_user):
    with time_machine.travel(local(2025, 10, 8, 9), tick=False):
        services.acknowledge(routed, by=dept_x_user)
    run_on(2025, 10, 9, 9)
    assert "acknowledge_due" not in kinds(routed)


@pytest.mark.django_db
def test_reminder_planned_then_case_closed_is_cancelled(routed, dept_x_user, evidence_pdf, run_on):
    with time_machine.travel(local(2025, 10, 15, 9), tick=False):
        sweep.plan(dt.datetime(2025, 10, 15, 1, tzinfo=dt.UTC), sweep.workdays.current_calendar(), sweep.Timers())
        services.resolve(routed, by=dept_x_user, result="已解决", evidence=[evidence_pdf])
    run_on(2025, 10, 15, 9, 1)
    assert Reminder.objects.get(case=routed, kind="overdue").status == "cancelled"
    assert not Notification.objects.filter(case=routed, kind="overdue").exists()


@pytest.mark.django_db
def test_extension_gives_the_new_due_date_its_own_reminders(routed, run_on, dept_x_user, county_a):
    run_on(2025, 10, 11, 9)  # due_soon for 10-14
    with time_machine.travel(local(2025, 10, 13, 9), tick=False):
        services.request_extension(routed, by=dept_x_user, reason="需协调", days=5)
        services.approve_extension(routed, by=county_a)
    routed.refresh_from_db()
    assert routed.due_date == dt.date(2025, 10, 21)
    run_on(2025, 10, 15, 9)
    assert "overdue" not in kinds(routed)  # no longer overdue
    run_on(2025, 10, 20, 9)
    assert Reminder.objects.filter(case=routed, kind="due_soon", status="sent").count() == 2
    run_on(2025, 10, 22, 9)
    assert Reminder.objects.get(case=routed, kind="overdue").due_date == dt.date(2025, 10, 21)


@pytest.mark.django_db
def test_failed_email_is_recorded_and_retried_by_the_next_sweep(routed, run_on, monkeypatch, dept_x_user):
    real = transports.TRANSPORTS["email"]
    with time_machine.travel(local(2025, 10, 8, 9), tick=False):
        services.acknowledge(routed, by=dept_x_user)

    class Down:
        name = "email"

        def send(self, *, address, subject, body):
            raise ConnectionRefusedError("SMTP server not reachable")

    monkeypatch.setitem(transports.TRANSPORTS, "email", Down())
    run_on(2025, 10, 15, 9)
    failed = Delivery.objects.filter(status="failed")
    assert failed.count() == 2 and not mail.outbox  # overdue: department and county office
    assert "SMTP server not reachable" in failed.first().error
    # The inbox got them anyway.
    assert Notification.objects.filter(case=routed, kind="overdue").count() == 2

    monkeypatch.setitem(transports.TRANSPORTS, "email", real)
    run_on(2025, 10, 15, 9, 5)
    assert sorted(m.to[0] for m in mail.outbox) == ["county@a.example", "dept@x.example"]
    assert Delivery.objects.filter(status="sent", attempt=2).count() == 2
    run_on(2025, 10, 15, 9, 10)
    assert len(mail.outbox) == 2  # nothing more


@pytest.mark.django_db
def test_one_failing_case_does_not_stop_the_sweep(make_case, county_a, dept_x, people, run_on, monkeypatch):
    with time_machine.travel(local(2025, 9, 30, 15), tick=False):
        cases = [
            services.assign(make_case(received_at=local(2025, 9, 30, 10)), by=county_a, department=dept_x)
            for _ in range(3)
        ]
    broken = cases[1].number
    original = sweep.message_for

    def message_for(kind, case, today):
        if case.number == broken:
            raise RuntimeError("template exploded")
        return original(kind, case, today)

    monkeypatch.setattr(sweep, "message_for", message_for)
    run = run_on(2025, 10, 15, 9)
    assert run.errors and all(e["case"] == cases[1].pk for e in run.errors)
    assert "overdue" in kinds(cases[0]) and "overdue" in kinds(cases[2])
    stuck = Reminder.objects.get(case=cases[1], kind="overdue")
    assert stuck.status == "pending" and stuck.attempts == 1 and "template exploded" in stuck.last_error
    monkeypatch.setattr(sweep, "message_for", original)
    run_on(2025, 10, 15, 9, 30)  # after the retry delay
    stuck.refresh_from_db()
    assert stuck.status == "sent"


@pytest.mark.django_db
def test_sweep_deadlines_command_runs_one_sweep(routed, capsys):
    from django.core.management import call_command

    with time_machine.travel(local(2025, 10, 15, 9), tick=False):
        call_command("sweep_deadlines")
    assert "sent" in capsys.readouterr().out
    assert SweepRun.objects.filter(finished_at__isnull=False).count() == 1


@pytest.mark.django_db
def test_messages_are_in_chinese(routed, run_on):
    run_on(2025, 10, 15, 9)
    note = Notification.objects.filter(kind="overdue").first()
    assert routed.number in note.message
    assert "逾期" in note.message or "超期" in note.message
