"""Real county workbooks: closing totals and notes are skipped and listed, every sheet with a
header is imported, and each sheet's rows are reported with the sheet's name."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from cases.importing import run_import
from cases.models import Case
from ledger.verify import verify_cases

from .conftest import HEADER, row

pytestmark = pytest.mark.django_db


def blank_but(*cells):
    return [*cells] + [""] * (len(HEADER) - len(cells))


def workbook(path, sheets: dict[str, list[list]]):
    book = Workbook()
    for index, (title, rows) in enumerate(sheets.items()):
        sheet = book.active if index == 0 else book.create_sheet()
        sheet.title = title
        for line in rows:
            sheet.append(line)
    book.save(path)
    return path


def test_a_closing_total_and_signature_lines_are_skipped_and_listed_not_errors(write_csv, county_a):
    path = write_csv(
        [
            row(编号="A-1"),
            row(编号="A-2"),
            blank_but("合计：2件"),
            blank_but("", "", "合计", "2件"),
            blank_but("备注：以上为一季度数据"),
            blank_but("填报人：张三", "", "审核人：李四", "", "制表日期：2025-04-01"),
        ]
    )
    summary = run_import(path, by=county_a, dry_run=False)
    assert summary["errors"] == [] and summary["created"] == 2 and Case.objects.count() == 2
    assert summary["skipped_count"] == 4
    assert [(s["row"], s["text"]) for s in summary["skipped"]] == [
        (4, "合计：2件"),
        (5, "合计 2件"),
        (6, "备注：以上为一季度数据"),
        (7, "填报人：张三 审核人：李四 制表日期：2025-04-01"),
    ]
    assert all(s["sheet"] is None and s["reason"] for s in summary["skipped"])


def test_a_case_whose_number_begins_with_a_note_word_is_still_a_case(write_csv, county_a):
    path = write_csv([row(编号="合计-2025-001"), row(编号="备注1", 问题类别="不存在的类别")])
    summary = run_import(path, by=county_a, dry_run=True)
    assert summary["skipped_count"] == 0 and summary["rows"] == 2
    assert [(e["row"], e["column"]) for e in summary["errors"]] == [(3, "问题类别")]


def test_every_sheet_with_a_header_is_imported_and_rows_are_reported_by_sheet(tmp_path, county_a):
    title = ["浉河区企业问题台帐"]
    path = workbook(
        tmp_path / "years.xlsx",
        {
            "2024年": [title, HEADER, row(编号="Y24-1"), row(编号="Y24-2"), blank_but("合计：2件")],
            "填表说明": [["本表由县区服务办按年填报。"], ["受理时间精确到分钟。"]],
            "2025年": [title, HEADER, row(编号="Y25-1"), row(编号="Y25-2", 统一社会信用代码="914115683BJ1XG612A")],
        },
    )
    checked = run_import(path, by=county_a, dry_run=True)
    assert [(e["sheet"], e["row"], e["column"]) for e in checked["errors"]] == [("2025年", 4, "统一社会信用代码")]
    assert checked["rows"] == 4
    assert [(s["sheet"], s["row"]) for s in checked["skipped"]] == [("2024年", 5), ("填表说明", None)]

    fixed = workbook(
        tmp_path / "fixed.xlsx",
        {
            "2024年": [title, HEADER, row(编号="Y24-1"), row(编号="Y24-2"), blank_but("合计：2件")],
            "填表说明": [["本表由县区服务办按年填报。"]],
            "2025年": [title, HEADER, row(编号="Y25-1"), row(编号="Y25-2")],
        },
    )
    summary = run_import(fixed, by=county_a, dry_run=False)
    assert summary["errors"] == [] and summary["created"] == 4
    assert set(Case.objects.values_list("ref", flat=True)) == {"Y24-1", "Y24-2", "Y25-1", "Y25-2"}
    assert list(verify_cases(Case.objects.all())) == []
    again = run_import(fixed, by=county_a, dry_run=False)
    assert again["created"] == 0 and again["unchanged"] == 4


def test_a_number_repeated_on_another_sheet_names_that_sheet(tmp_path, county_a):
    path = workbook(
        tmp_path / "counties.xlsx", {"一季度": [HEADER, row(编号="Q-1")], "二季度": [HEADER, row(编号="Q-1")]}
    )
    summary = run_import(path, by=county_a, dry_run=True)
    assert len(summary["errors"]) == 1
    error = summary["errors"][0]
    assert error["sheet"] == "二季度" and error["row"] == 2 and "一季度" in error["message"]


def test_a_sheet_missing_a_required_column_is_an_error_of_that_sheet(tmp_path, county_a):
    short = [h for h in HEADER if h != "问题类别"]
    path = workbook(tmp_path / "two.xlsx", {"甲": [HEADER, row(编号="M-1")], "乙": [short, row(编号="M-2")[:-1]]})
    summary = run_import(path, by=county_a, dry_run=False)
    assert [(e["sheet"], e["row"]) for e in summary["errors"]] == [("乙", 1)] and Case.objects.count() == 0


def test_a_workbook_without_any_header_is_refused_as_before(tmp_path, county_a):
    path = workbook(tmp_path / "none.xlsx", {"甲": [["随便写点什么"]], "乙": [["也没有表头"]]})
    summary = run_import(path, by=county_a, dry_run=True)
    assert summary["error_count"] == 1 and summary["errors"][0]["row"] == 1 and summary["skipped"] == []
    assert "表头" in summary["errors"][0]["message"]


def test_the_page_lists_skipped_rows_and_errors_with_their_sheet(client, county_a, tmp_path):
    path = workbook(
        tmp_path / "page.xlsx",
        {
            "2024年": [HEADER, row(编号="P-1"), blank_but("合计：1件")],
            "2025年": [HEADER, row(编号="P-2", 统一社会信用代码="914115683BJ1XG612A")],
        },
    )
    client.force_login(county_a)
    upload = SimpleUploadedFile(path.name, path.read_bytes())
    page = client.post("/import/", {"file": upload, "dry_run": "on"}, follow=True)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="import-skipped"' in html and "合计：1件" in html and "2025年" in html
    assert "工作表" in html  # the sheet column, in Chinese
    report = client.get(page.redirect_chain[-1][0] + "errors.xlsx")
    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(report.content)).active.iter_rows(values_only=True))
    assert rows[2][:3] == ("2025年", 2, "统一社会信用代码")
