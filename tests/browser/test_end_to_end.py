"""One real browser through the whole path: a county office logs a case and routes it, the
department acknowledges and resolves it with an evidence PDF, and the 台帐 shows it 已解决."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from cases.models import Case, State
from cases.users import create_user
from tests.conftest import IN_CI, PDF_BYTES

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses that by default.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not IN_CI,
        reason="needs Debian chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("CI=true but /usr/bin/chromium is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def log_in(page, base, username, password):
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#login-card button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_county_logs_and_routes_department_resolves_ledger_shows_resolved(
    live_server, browser, tmp_path, dept_x, category, channel, region_a
):
    county, county_password = create_user(
        "county_e2e", role="county_office", region=region_a, password="county-pass-e2e"
    )
    dept, dept_password = create_user("dept_e2e", role="department", department=dept_x, password="dept-pass-e2e")
    base = live_server.url
    evidence = tmp_path / "办理情况说明.pdf"
    evidence.write_bytes(PDF_BYTES)

    context = browser.new_context(locale="zh-CN", viewport={"width": 1360, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # County office: log in, log the case through the intake form, route it.
    log_in(page, base, county.username, county_password)
    assert "我的待办" in page.content()
    page.click("text=登记新问题")
    page.fill("#id_enterprise_name", "信阳市浉河区茶业有限公司")
    page.fill("#id_credit_code", "914115683BJ1XG612H")
    page.select_option("#id_enterprise_size", "small_micro")
    page.fill("#id_contact_name", "王经理")
    page.fill("#id_contact_phone", "13937600000")
    page.select_option("#id_category", str(category.pk))
    page.select_option("#id_channel", str(channel.pk))
    page.fill("#id_description", "春茶采摘季用工缺口约50人，请求协调。")
    page.screenshot(path=str(SCREENSHOTS / "case-ledger-intake.png"), full_page=True)
    page.click("form.card button[type=submit]")
    page.wait_for_url(re.compile(r".*/cases/\d+/$"))
    case = Case.objects.get()
    assert case.number in page.content() and "已受理" in page.content()
    page.select_option("#id_assign-department", str(dept_x.pk))
    page.click("#action-assign button[type=submit]")
    page.wait_for_selector("text=案件已交办。")
    assert Case.objects.get().state == State.ASSIGNED
    context.clear_cookies()

    # Department: acknowledge, then resolve with the evidence PDF.
    log_in(page, base, dept.username, dept_password)
    assert case.number in page.content()
    page.click(f"text={case.number}")
    page.click("#action-acknowledge button[type=submit]")
    page.wait_for_selector("text=案件已签收。")
    page.click("#action-resolve summary") if not page.is_visible("#id_resolve-result") else None
    page.fill("#id_resolve-result", "已协调人社局举办专场招聘会，缺口已补齐。")
    page.set_input_files("#id_resolve-evidence", str(evidence))
    page.click("#action-resolve button[type=submit]")
    page.wait_for_selector("text=案件已办结（已解决）。")
    page.screenshot(path=str(SCREENSHOTS / "case-ledger-detail.png"), full_page=True)
    assert "办理情况说明.pdf" in page.content() and "台帐完整" in page.content()

    # The 台帐 shows it resolved.
    page.click("nav >> text=台帐")
    page.wait_for_url(f"{base}/ledger/")
    row = page.locator("table.ledger-table tbody tr", has_text=case.number)
    assert "已解决" in row.inner_text() and "是" in row.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "case-ledger-ledger.png"), full_page=True)

    case = Case.objects.get()
    assert case.state == State.RESOLVED and case.evidence.count() == 1
    assert list(case.ledger_entries.values_list("action", flat=True)) == ["create", "assign", "acknowledge", "resolve"]
    assert errors == []
    context.close()
