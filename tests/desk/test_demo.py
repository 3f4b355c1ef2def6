"""The demo year as seed_demo loads it: cases (cases.demo), notices (notices.demo) and the day's
open work, so every office queue has something to show."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from cases.models import Case, Department, ExtensionRequest, State
from cases.queues import Queue, in_queue, suggested_department
from desk import demo
from ledger.verify import verify_cases
from notices.models import Notice, NoticeSchedule

User = get_user_model()
NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def seeded(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return demo.seed(count=150, year=2026, seed_value=7, now=NOW)


def test_demo_issues_notices_for_all_but_one_county(seeded):
    assert NoticeSchedule.objects.count() == 9
    assert Notice.objects.filter(status="issued").count() > 50


def test_demo_leaves_returned_cases_and_pending_extensions_for_the_queues(seeded):
    today = dt.date(2026, 11, 20)
    returned = in_queue(Case.objects.all(), Queue.RETURNED, today)
    assert returned.count() >= 20  # two a county logged today, and any the year left
    named = 0
    for case in returned:
        payload = case.ledger_entries.filter(action="return").last().payload
        assert payload["reason"] and payload["suggested_department"]
        departments = Department.objects.serving(case.region_id)
        named += (
            suggested_department(
                payload["suggested_department"], departments, region=case.region, exclude_id=payload["department"]
            )
            is not None
        )
    assert named >= 10  # one a county names a department the dashboard can preselect
    assert ExtensionRequest.objects.filter(status="pending").count() >= 20
    assert set(Case.objects.values_list("state", flat=True)) >= {State.RECEIVED, State.ASSIGNED, State.RESOLVED}
    assert list(verify_cases(Case.objects.all())) == []
    first = Department.objects.get(region__code="411502", name="浉河区工信局")
    assert in_queue(Case.objects.filter(department=first), Queue.TO_ACKNOWLEDGE, today).exists()
    assert User.objects.get(username="dept_411502_01").first_name.endswith("（工信局）")


def test_seed_demo_command_loads_everything_once(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", "--cases", "20")
    count = Case.objects.count()
    assert count == 20 + 50 and NoticeSchedule.objects.exists()  # the year's 20 and today's 5 a county
    call_command("seed_demo", "--cases", "20", "--if-empty")
    assert Case.objects.count() == count
