"""Every main page, for every role, on a phone (390 px) and on a desk (1366 px), in a real browser:
no page-wide horizontal scroll, each menu entry on one line (the phone menu opened first), no
untranslated English in what the page shows, no console errors, names instead of logins."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from django.utils import timezone

from cases import services
from cases.users import create_user
from notices import services as notices
from tests.conftest import IN_CI, pdf_file

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = (390, 1366)
# Latin words a Chinese page may show: file formats, the API, the language switcher's "English".
ALLOWED_WORDS = {"PDF", "XLSX", "CSV", "Excel", "API", "SHA", "Token", "English"}
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not IN_CI,
        reason="needs Debian chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("CI=true but /usr/bin/chromium is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def office_year(region_a, dept_x, dept_y, county_a, make_case, settings, tmp_path):
    """A county's small year: a case waiting, one routed, one resolved, a schedule and a notice."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    county_a.last_name, county_a.first_name = "王", "芳"
    county_a.save()
    dept_user, _ = create_user("dept_x", role="department", department=dept_x, password="pass-dept_x")
    make_case(description="产品进入本地政府采购目录受阻")
    routed = services.assign(make_case(), by=county_a, department=dept_x)
    services.acknowledge(routed, by=dept_user)
    resolved = services.assign(make_case(enterprise_name="信阳浉河区茶业有限公司"), by=county_a, department=dept_x)
    services.resolve(resolved, by=dept_user, result="经协调，问题已解决，企业已确认。", evidence=[pdf_file()])
    today = timezone.localdate()
    notices.save_schedule(
        by=county_a,
        region=region_a,
        start_date=dt.date(today.year, 1, 1),
        recipients=[
            {"group": "city_office", "name": "市服务办", "email": "city@example.cn"},
            {"group": "local_leader", "name": "王副区长", "email": "leader@example.cn"},
            {"group": "department_leader", "name": "工信局李局长", "email": "it@example.cn"},
        ],
    )
    if today.month > 1:
        period = f"{today.year}-{today.month - 1:02d}"
        notices.issue_notice(by=county_a, notice=notices.draft_notice(by=county_a, region=region_a, period=period))
    return {"routed": routed, "resolved": resolved, "dept_user": dept_user, "year": today.year}


def _log_in(page, base, username, password):
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#login-card button[type=submit]")
    page.wait_for_url(f"{base}/")


MEASURE = """() => {
  const lines = (el) => { const r = document.createRange(); r.selectNodeContents(el);
    const tops = new Set(Array.from(r.getClientRects()).filter(b => b.width > 0).map(b => Math.round(b.top)));
    return tops.size; };
  const main = document.querySelector('main');
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    menu: Array.from(document.querySelectorAll('.mainnav a')).map(
      a => [a.textContent.trim(), lines(a), a.getBoundingClientRect().height]),
    logout: (() => { const b = document.querySelector('.userbox button'); if (!b) return null;
      const r = b.getBoundingClientRect();
      return {visible: r.width > 0 && r.height > 0, height: r.height, right: r.right}; })(),
    language: (() => { const s = document.querySelector('#language-select'); const r = s.getBoundingClientRect();
      return {visible: r.width > 0 && r.height > 0, right: r.right}; })(),
    text: (document.querySelector('header').innerText + '\\n' + (main ? main.innerText : '')),
  };
}"""


def _english_words(text: str) -> set[str]:
    """Whole Latin words of four letters or more; hashes and credit codes (letters mixed with
    digits) are not words."""
    words = re.findall(r"(?<![A-Za-z0-9])[A-Za-z]{4,}(?![A-Za-z0-9])", text)
    return {word for word in words if word not in ALLOWED_WORDS}


def _check_page(page, url: str, width: int, problems: list[str]):
    response = page.goto(url)
    if response is None or response.status != 200:
        problems.append(f"{width}px {url}: HTTP {response.status if response else '—'}")
        return
    if width < 900:  # the phone menu: opened by its button, then every entry is reachable
        page.click("label.menu-button")
    seen = page.evaluate(MEASURE)
    if SCREENSHOTS:
        name = re.sub(r"[^a-z0-9]+", "_", url.split("//", 1)[-1].split("/", 1)[-1]).strip("_") or "home"
        page.screenshot(path=f"{SCREENSHOTS}/{width}-{name}.png", full_page=True)
    if seen["scrollWidth"] > seen["innerWidth"]:
        problems.append(f"{width}px {url}: the page scrolls sideways ({seen['scrollWidth']} > {seen['innerWidth']})")
    for label, lines, height in seen["menu"]:
        if lines != 1:
            problems.append(f"{width}px {url}: menu entry {label} takes {lines} lines")
        if width < 900 and height < 44:
            problems.append(f"{width}px {url}: menu entry {label} is {height:.0f} px tall, under a thumb's 44")
    for name in ("logout", "language"):
        box = seen[name]
        if not box or not box["visible"] or box["right"] > seen["innerWidth"]:
            problems.append(f"{width}px {url}: {name} is not reachable ({box})")
    words = _english_words(seen["text"])
    if words:
        problems.append(f"{width}px {url}: English words {sorted(words)}")


def _walk(browser, live_server, username: str, password: str, paths: list[str]) -> tuple[list[str], str]:
    problems: list[str] = []
    header = ""
    for width in WIDTHS:
        context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on(
            "console", lambda message, errors=errors: errors.append(message.text) if message.type == "error" else None
        )
        page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
        _log_in(page, live_server.url, username, password)
        for path in paths:
            _check_page(page, live_server.url + path, width, problems)
            problems += [f"{width}px {path}: console error {text}" for text in errors]
            errors.clear()
        header = page.inner_text("header")
        context.close()
    return problems, header


def test_county_office_pages_fit_a_phone_and_a_desk(browser, live_server, office_year, county_a, region_a):
    year, case = office_year["year"], office_year["routed"]
    paths = [
        "/",
        "/ledger/",
        f"/cases/{case.pk}/",
        "/cases/new/",
        "/notices/",
        f"/scoring/{year}/",
        f"/scoring/{year}/{region_a.code}/",
        "/notifications/",
        f"/notices/regions/{region_a.code}/schedule/",
    ]

    problems, header = _walk(browser, live_server, "county_a", "pass-county_a", paths)

    assert problems == []
    assert "王芳（浉河区企业服务办公室）" in header and "county_a" not in header


def test_department_pages_fit_a_phone_and_a_desk(browser, live_server, office_year):
    case = office_year["resolved"]

    problems, header = _walk(
        browser, live_server, "dept_x", "pass-dept_x", ["/", "/ledger/", f"/cases/{case.pk}/", "/notifications/"]
    )

    assert problems == []
    assert "浉河区工信局" in header and "dept_x" not in header


def test_city_office_pages_fit_a_phone_and_a_desk(browser, live_server, office_year, city_user, region_a):
    year, case = office_year["year"], office_year["resolved"]
    paths = [
        "/",
        "/ledger/",
        f"/cases/{case.pk}/",
        "/cases/new/",
        f"/notices/?region={region_a.code}",
        f"/scoring/{year}/",
        "/notifications/",
    ]

    problems, header = _walk(browser, live_server, "city", "pass-city", paths)

    assert problems == []
    assert "信阳市企业服务办公室" in header


def test_assessor_pages_fit_a_phone_and_a_desk(browser, live_server, office_year, assessor, region_a):
    year, case = office_year["year"], office_year["resolved"]
    paths = [
        "/",
        "/ledger/",
        f"/cases/{case.pk}/",
        f"/notices/?region={region_a.code}",
        f"/scoring/{year}/",
        f"/scoring/{year}/{region_a.code}/",
        f"/scoring/{year}/{region_a.code}/items/15/",
        f"/scoring/{year}/{region_a.code}/items/1/",
    ]

    problems, header = _walk(browser, live_server, "assessor", "pass-assessor", paths)

    assert problems == []
    assert "考核组" in header


def test_the_case_timeline_names_people_not_logins(browser, live_server, office_year):
    case = office_year["resolved"]
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 900})
    page = context.new_page()
    _log_in(page, live_server.url, "county_a", "pass-county_a")
    page.goto(f"{live_server.url}/cases/{case.pk}/")

    timeline = page.inner_text("#timeline")
    evidence = page.inner_text("#evidence")
    context.close()

    assert "王芳（浉河区企业服务办公室）" in timeline and "浉河区工信局" in timeline
    assert "county_a" not in timeline and "dept_x" not in timeline
    assert "浉河区工信局" in evidence and "dept_x" not in evidence


def test_an_unknown_page_is_the_apps_chinese_404_on_a_phone(browser, live_server, office_year):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 900})
    page = context.new_page()
    _log_in(page, live_server.url, "county_a", "pass-county_a")

    response = page.goto(f"{live_server.url}/cases/999999/")
    seen = page.evaluate(MEASURE)
    context.close()

    assert response.status == 404
    assert "未找到" in seen["text"] and not _english_words(seen["text"])
    assert seen["scrollWidth"] <= seen["innerWidth"]
