"""Helpers for scoring tests: cases built through cases.services at historical times."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from cases import services
from tests.conftest import pdf_file

SH = ZoneInfo("Asia/Shanghai")


def at(year, month, day, hour=10, minute=0):
    """A moment in Asia/Shanghai."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=SH)


def close_without_evidence(case, moment):
    """A closing recorded without evidence, as old imported ledgers have it (the ledger appended
    behind the services' back): item 13 lists the case as incomplete."""
    from django.db import transaction

    from cases.models import Case
    from ledger import services as ledger

    with transaction.atomic():
        ledger.append(
            case,
            action="resolve",
            from_state="assigned",
            to_state="resolved",
            occurred_at=moment,
            recorded_at=moment,
            source="import",
            payload={"result": "已解决", "evidence": []},
        )
    Case.objects.filter(pk=case.pk).update(state="resolved", closed_at=moment)


@pytest.fixture
def history(make_case, county_a, dept_x, dept_x_user):
    """Build a case's life at given local moments: received → assigned → closed (→ reopened …)."""

    def build(
        received,
        *,
        assigned=None,
        closed=None,
        how="resolve",
        reopened=None,
        reclosed=None,
        by=None,
        department=None,
        department_user=None,
        region=None,
    ):
        by = by or county_a
        department = department or dept_x
        department_user = department_user or dept_x_user
        case = make_case(by=by, region=region, received_at=received, now=received)
        if assigned is None and closed is None:
            return case
        when = assigned or received + dt.timedelta(hours=1)
        case = services.assign(case, by=by, department=department, now=when)
        for close_at, reopen_at in ((closed, reopened), (reclosed, None)):
            if close_at is None:
                break
            if how == "explain":
                case = services.explain(
                    case,
                    by=department_user,
                    result="不属于职责范围",
                    policy_basis="相关政策",
                    redirect_to="市场监管局",
                    evidence=[pdf_file()],
                    now=close_at,
                )
            else:
                case = services.resolve(case, by=department_user, result="已解决", evidence=[pdf_file()], now=close_at)
            if reopen_at is None:
                break
            case = services.reopen(case, by=by, reason="企业不满意", now=reopen_at)
        case.refresh_from_db()
        return case

    return build


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """The kept exports (scoring.snapshots.kept_export) and attachments go to the test's own
    folder: a file kept by one test is never another test's answer."""
    settings.MEDIA_ROOT = tmp_path / "media"
