"""The demo year is made through the services, so its ledgers verify and every state appears."""

import datetime as dt

from django.core.management import call_command

from cases import demo
from cases.models import Case, Profile, State
from ledger.models import LedgerEntry
from ledger.verify import verify_cases


def test_demo_year_has_every_state_and_verifiable_ledgers(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    now = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
    result = demo.seed(count=100, year=2026, seed_value=7, now=now)
    assert result.cases == Case.objects.count() == 100
    states = set(Case.objects.values_list("state", flat=True))
    assert states >= {State.ASSIGNED, State.RESOLVED, State.EXPLAINED}
    actions = set(LedgerEntry.objects.values_list("action", flat=True))
    assert {"create", "assign", "acknowledge", "resolve", "explain", "follow_up"} <= actions
    assert LedgerEntry.objects.filter(occurred_at__gt=now).count() == 0
    assert list(verify_cases(Case.objects.all())) == []
    roles = set(Profile.objects.values_list("role", flat=True))
    assert roles == {"city_office", "county_office", "department", "assessor"}


def test_seed_demo_if_empty_does_nothing_twice(db, settings, tmp_path, capsys):
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", "--cases", "5")
    count = Case.objects.count()
    call_command("seed_demo", "--cases", "5", "--if-empty")
    assert Case.objects.count() == count
    assert "nothing to do" in capsys.readouterr().out
