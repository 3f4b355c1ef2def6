"""Every issued notice prints its region's latest ledger checkpoint root (本期台帐校验码)."""

import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from cases.models import Case
from ledger import checkpoint
from ledger.models import LedgerCheckpoint
from notices import services
from notices.exports import notice_xlsx

from .conftest import at


@pytest.fixture
def march_draft(region_a, county_a, schedule_for):
    schedule_for(region_a)
    return services.draft_notice(by=county_a, region=region_a, period="2026-03", now=at("2026-04-01"))


def test_issued_notice_carries_the_regions_latest_root(county_a, march_draft, make_case, client):
    make_case()
    notice = services.issue_notice(by=county_a, notice=march_draft, now=at("2026-04-03"))
    root = notice.ledger_root
    assert root and root == LedgerCheckpoint.objects.get().region_root(notice.region.code)
    client.force_login(county_a)
    page = client.get(f"/notices/{notice.pk}/print/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "本期台帐校验码" in page and root in page
    sheet = load_workbook(io.BytesIO(notice_xlsx(notice))).active
    assert ["本期台帐校验码", root] in [[c.value for c in row[:2]] for row in sheet.iter_rows()]


def test_a_notice_prints_the_latest_daily_checkpoint_rather_than_taking_one(county_a, march_draft, make_case):
    make_case()
    daily = checkpoint.take(Case.objects.all(), now=timezone.now())
    notice = services.issue_notice(by=county_a, notice=march_draft, now=at("2026-04-03"))
    assert notice.ledger_checkpoint == daily
    assert LedgerCheckpoint.objects.count() == 1
    assert notice.ledger_root == daily.regions["411502"]["root"]
