"""Every file the app writes for users, fed the nastiest names people (or old data) can hold.

Control characters (\\x01, \\x1b) once made the 台帐 XLSX answer 500 for everyone who could see the
case, and a department named ``=HYPERLINK(...)`` came out of the notice XLSX as a live formula.
Here each export — 台帐 CSV and XLSX, the notice XLSX, the scoresheet and scoreboard XLSX, the
import template and the import error report — is downloaded with such names in every text it
shows, opened with openpyxl / csv, and checked cell by cell: no formula, no control character,
and the hostile text still there, shown as typed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from cases import safe_sheets
from cases import services as case_services
from cases.credit_code import check_character
from cases.importing.report import error_report_bytes
from cases.models import Case, Category, Department, Enterprise, Region
from notices import services as notice_services
from notices.models import Notice
from scoring.models import Criterion
from tests.cases.test_exports import EXPORT_QUERIES
from tests.conftest import pdf_file
from tests.imports.conftest import EXAMPLES, HEADER, row
from tests.notices.conftest import at

pytestmark = pytest.mark.django_db

LINK = '=HYPERLINK("http://evil.example/d","部门")'
NASTY = [
    "\x01控制\x1b字符有限公司",
    LINK,
    "+1",
    "-2",
    "@SUM(A1)",
    "\t制表符开头",
    "\r回车开头",
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(autouse=True)
def _april_2026(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(at("2026-04-03", 10), tick=False):
        yield


@pytest.fixture
def hostile_world(make_case, county_a, dept_x, dept_x_user, region_a, category):
    """Cases of March 2026 in county A — one overdue, one resolved per nasty name — whose names
    are then rewritten straight in the database, as rows written before the input checks (or
    through the admin) would hold them."""
    cases = []
    for index, _name in enumerate(NASTY):
        first17 = f"91411500MA{index:07d}"  # one enterprise per name
        case = make_case(
            received_at=at("2026-03-02", 9),
            now=at("2026-03-02", 9),
            credit_code_value=first17 + check_character(first17),
        )
        case = case_services.assign(case, by=county_a, department=dept_x, now=at("2026-03-02", 11))
        if index % 2:
            case = case_services.resolve(
                case, by=dept_x_user, result="已解决", evidence=[pdf_file()], now=at("2026-03-05", 15)
            )
        cases.append(case)
    for case, name in zip(cases, NASTY, strict=True):
        Enterprise.objects.filter(pk=case.enterprise_id).update(name=name)
        Case.objects.filter(pk=case.pk).update(description=name + "问题内容", result=name)
    Department.objects.filter(pk=dept_x.pk).update(name=LINK)
    Category.objects.filter(pk=category.pk).update(name="\x1b" + LINK)
    Region.objects.filter(pk=region_a.pk).update(name="@SUM(A1)\x01浉河区")
    criterion = Criterion.objects.order_by("pk").first()
    Criterion.objects.filter(pk=criterion.pk).update(content="-2" + "\x01内容", standard=LINK)
    return cases


def assert_safe_workbook(content: bytes, *, expect: tuple[str, ...] = ()) -> list:
    """Every cell of every sheet: no formula, no control character; formula-like text quote-prefixed."""
    workbook = load_workbook(io.BytesIO(content))
    values = []
    for sheet in workbook.worksheets:
        for cells in sheet.iter_rows():
            for cell in cells:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not ILLEGAL_CHARACTERS_RE.search(cell.value), (sheet.title, cell.coordinate, cell.value)
                    if cell.value.startswith(FORMULA_STARTS):
                        assert cell.quotePrefix, (sheet.title, cell.coordinate, cell.value)
                    values.append(cell.value)
    for text in expect:
        assert any(text in value for value in values), (text, "|".join(values))
    return values


def assert_safe_csv(raw: bytes, *, expect: tuple[str, ...] = ()) -> list[str]:
    fields = [field for record in csv.reader(io.StringIO(raw.decode("utf-8-sig"))) for field in record]
    for field in fields:
        assert not ILLEGAL_CHARACTERS_RE.search(field), field
        assert not field.startswith(FORMULA_STARTS), field
    for text in expect:
        assert text in fields, (text, fields)
    return fields


def test_ledger_csv_and_xlsx_write_hostile_names_as_text(
    client, county_a, hostile_world, django_assert_max_num_queries
):
    client.force_login(county_a)
    with django_assert_max_num_queries(EXPORT_QUERIES):
        response = client.get("/ledger/export.csv")
        raw = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert_safe_csv(
        raw, expect=("'" + LINK, "'+1", "'-2", "'@SUM(A1)", "'\t制表符开头", "'\r回车开头", "控制字符有限公司")
    )

    with django_assert_max_num_queries(EXPORT_QUERIES):
        response = client.get("/ledger/export.xlsx")
        content = b"".join(response.streaming_content)
    assert response.status_code == 200
    values = assert_safe_workbook(content, expect=(LINK, "控制字符有限公司"))
    assert {"+1", "-2", "@SUM(A1)", "\t制表符开头", LINK} <= set(values)


def test_notice_xlsx_writes_hostile_department_and_enterprise_names_as_text(client, county_a, region_a, hostile_world):
    notice = notice_services.draft_notice(by=county_a, region=region_a, period="2026-03", now=at("2026-04-01"))
    assert notice.figures["overdue_cases"]  # the overdue list (enterprise, department) is in the file
    Notice.objects.filter(pk=notice.pk).update(title="=1+1\x01通报", covering_text="-2 \x1b正文\n第二段")
    client.force_login(county_a)
    response = client.get(f"/notices/{notice.pk}/notice.xlsx")
    assert response.status_code == 200
    values = assert_safe_workbook(response.content, expect=(LINK, "控制字符有限公司", "正文"))
    assert "=1+1通报" in values and "+1" in values


def test_scoresheet_and_scoreboard_write_hostile_names_as_text(client, assessor, hostile_world):
    client.force_login(assessor)
    response = client.get("/scoring/2025/411502/scoresheet.xlsx")
    assert response.status_code == 200
    assert_safe_workbook(response.content, expect=("浉河区", "内容", LINK))
    response = client.get("/scoring/2025/scores.xlsx")
    assert response.status_code == 200
    values = assert_safe_workbook(response.content, expect=("@SUM(A1)浉河区",))
    assert "@SUM(A1)浉河区" in values


def test_import_template_and_error_report_write_hostile_text_as_text(client, county_a, tmp_path, hostile_world):
    client.force_login(county_a)
    response = client.get("/import/template.xlsx")
    assert response.status_code == 200
    assert_safe_workbook(response.content, expect=("编号",))

    # A file named like a formula whose cells quote a formula, control characters and a bad date:
    # the errors quote what the office typed.
    body = io.StringIO()
    writer = csv.writer(body)
    writer.writerow(HEADER)
    writer.writerow(row(问题类别=LINK, 受理时间="@SUM(A1)\x01"))
    upload = SimpleUploadedFile(LINK + ".csv", body.getvalue().encode("utf-8"))
    job_url = client.post("/import/", {"file": upload, "dry_run": "on"})["Location"]
    response = client.get(job_url + "errors.xlsx")
    assert response.status_code == 200, response.content
    values = assert_safe_workbook(response.content, expect=(LINK, "@SUM(A1)"))
    assert not any(ILLEGAL_CHARACTERS_RE.search(value) for value in values)

    # Messages and columns that themselves start like formulas, straight into the report.
    report = error_report_bytes(
        {
            "errors": [
                {"row": 2, "column": "\x01" + LINK, "message": "-2 \x1b" + LINK},
                {"row": None, "column": None, "message": "@SUM(A1)"},
            ],
            "error_count": 3,
        },
        file_name="+1\x01.xlsx",
    )
    values = assert_safe_workbook(report, expect=(LINK, "-2 " + LINK, "@SUM(A1)"))


def test_error_report_of_a_job_without_errors_is_404(client, city_user):
    client.force_login(city_user)
    path = EXAMPLES / "ledger-example.csv"
    job_url = client.post("/import/", {"file": SimpleUploadedFile(path.name, path.read_bytes()), "dry_run": "on"})[
        "Location"
    ]
    assert client.get(job_url).status_code == 200
    assert client.get(job_url + "errors.xlsx").status_code == 404


def test_a_dated_value_is_still_a_date_and_a_number_still_a_number():
    """Only text is touched: numbers and dates keep their types in the safe writer."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("x")
    safe_sheets.append(sheet, [-2, dt.date(2026, 3, 1), "-2", None, 1.5])
    reread = load_workbook(io.BytesIO(safe_sheets.workbook_bytes(workbook))).active
    a, b, c, d, e = next(reread.iter_rows(min_row=1, max_row=1, max_col=5))
    assert (a.value, a.data_type) == (-2, "n")
    assert b.value == dt.datetime(2026, 3, 1) and b.is_date
    assert (c.value, c.data_type, c.quotePrefix) == ("-2", "s", True)
    assert d.value is None and (e.value, e.data_type) == (1.5, "n")
    assert safe_sheets.csv_row([-2, "-2", None, "a\x00b"]) == ["-2", "'-2", "", "ab"]
