"""Several sweeps at once on PostgreSQL: the outbox's unique key and SKIP LOCKED claims mean
every reminder is written and sent exactly once."""

import datetime as dt
import threading
import zoneinfo

import pytest
from django.db import connection

from notifications.models import Delivery, Notification, Reminder
from notifications.sweep import run_sweep

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
CASES = 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_three_concurrent_sweeps_over_200_due_cases_send_exactly_200_reminders(make_case, county_a):
    county_a.email = "county@a.example"
    county_a.save()
    # Received (not routed) on 2025-09-30, due 2025-10-14: on 2025-10-15 only "overdue" is due,
    # and it goes to the county office alone — one reminder, one message, one email per case.
    for _ in range(CASES):
        make_case(
            received_at=dt.datetime(2025, 9, 30, 10, tzinfo=SHANGHAI), now=dt.datetime(2025, 9, 30, 11, tzinfo=SHANGHAI)
        )
    now = dt.datetime(2025, 10, 15, 9, tzinfo=SHANGHAI)
    barrier = threading.Barrier(3)
    runs, errors = [], []

    def sweep():
        try:
            barrier.wait(timeout=30)
            runs.append(run_sweep(now=now))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors
    assert len(runs) == 3 and not any(run.errors for run in runs)
    assert Reminder.objects.count() == CASES
    assert Reminder.objects.filter(kind="overdue", status="sent").count() == CASES
    assert sum(run.sent for run in runs) == CASES
    assert Notification.objects.filter(kind="overdue", user=county_a).count() == CASES
    assert Notification.objects.values("case").distinct().count() == CASES
    statuses = sorted(Delivery.objects.values_list("status", flat=True).distinct())
    assert Delivery.objects.filter(status="sent").count() == CASES, statuses
    assert Delivery.objects.values("purpose").distinct().count() == CASES
