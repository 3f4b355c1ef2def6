"""Hostile and oversized import files are refused fast, with a clear message, by the page and the
API alike — and the dry run and the real run read a file the same way.

The files are built here: a small workbook written by openpyxl whose sheet XML is then patched
(a ``<dimension>`` claiming all of Excel's 1,048,576 × 16,384 cells, a cell at XFD1048576, rows
past the limit, a zip bomb), and CSVs with a NUL byte past the first 64 KB.
"""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from cases.import_jobs import upload_dir
from cases.importing import reader as reader_module
from cases.importing import run_import
from cases.models import Case, ImportJob
from tests.conftest import xlsx_bytes

from .conftest import EXAMPLES, HEADER, row

pytestmark = pytest.mark.django_db

SHEET = "xl/worksheets/sheet1.xml"
FAR_CELL = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'


def patched_xlsx(rows, *, dimension: str | None = None, extra_rows: str = "", extra_parts: dict | None = None) -> bytes:
    """A workbook of ``rows`` whose first sheet's XML is rewritten: its declared size, rows appended."""
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes(rows)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == SHEET:
                text = data.decode()
                if dimension is not None:
                    text, count = re.subn(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{dimension}"/>', text)
                    assert count == 1
                text = text.replace("</sheetData>", extra_rows + "</sheetData>")
                data = text.encode()
            target.writestr(info, data)
        for name, data in (extra_parts or {}).items():
            target.writestr(name, data)
    return out.getvalue()


def api(user):
    client = APIClient()
    client.force_login(user)
    return client


def post_import(client, name: str, content: bytes, *, dry_run: bool):
    upload = SimpleUploadedFile(name, content)
    return client.post(
        "/api/v1/imports/", {"file": upload, "dry_run": "true" if dry_run else "false"}, format="multipart"
    )


def messages(body: dict) -> str:
    return " ".join(error["message"] for error in body["errors"])


# -- the probe: a 5 KB workbook that claims a million rows ----------------------------------------


def test_a_workbook_declaring_the_whole_grid_is_refused_within_seconds_by_the_api(county_a):
    content = patched_xlsx([HEADER, row()], dimension="A1:XFD1048576", extra_rows=FAR_CELL)
    assert len(content) < 10_000
    client = api(county_a)
    for dry_run, status in ((True, 200), (False, 400)):
        started = time.monotonic()
        response = post_import(client, "hostile.xlsx", content, dry_run=dry_run)
        elapsed = time.monotonic() - started
        assert response.status_code == status, response.content
        assert elapsed < 5, elapsed  # it used to hold a web thread for ten minutes
        body = response.json()
        assert body["created"] == 0 and body["error_count"] == 1
        assert (
            messages(body)
            == "表格用到了第 1,048,576 行；一次最多导入 200,000 行（含表头）。请拆分成较小的文件后分批导入。"
        )
    assert Case.objects.count() == 0


def test_the_same_workbook_through_the_page_fails_the_job_fast_and_removes_the_upload(client, county_a):
    content = patched_xlsx([HEADER, row()], dimension="A1:XFD1048576", extra_rows=FAR_CELL)
    client.force_login(county_a)
    started = time.monotonic()
    response = client.post("/import/", {"file": SimpleUploadedFile("hostile.xlsx", content)})
    assert time.monotonic() - started < 5
    job = ImportJob.objects.get(pk=response["Location"].rstrip("/").rsplit("/", 1)[-1])
    assert job.status == "done" and job.summary["error_count"] == 1
    assert "200,000" in messages(job.summary)
    assert not list(upload_dir().iterdir())
    page = client.get(response["Location"]).content.decode()
    assert "200,000" in page


def test_a_lying_dimension_does_not_hide_a_far_cell(county_a):
    """The sheet claims A1:O2 but holds a cell at XFD1048576: the actual size is measured."""
    content = patched_xlsx([HEADER, row()], dimension="A1:O2", extra_rows=FAR_CELL)
    started = time.monotonic()
    body = post_import(api(county_a), "liar.xlsx", content, dry_run=True).json()
    assert time.monotonic() - started < 5
    assert body["error_count"] == 1 and "1,048,576" in messages(body)


def test_a_cell_far_to_the_right_is_refused_naming_the_column(county_a):
    content = patched_xlsx(
        [HEADER, row()],
        dimension="A1:O2",
        extra_rows='<row r="3"><c r="AZ3" t="inlineStr"><is><t>备注</t></is></c></row>',
    )
    body = post_import(api(county_a), "wide.xlsx", content, dry_run=True).json()
    assert body["error_count"] == 1
    assert "AZ" in messages(body) and "AN" in messages(body)  # column 52; the 40th is AN


def test_declared_width_past_40_columns_is_refused_before_reading(county_a):
    content = patched_xlsx([HEADER, row()], dimension="A1:XFD2")
    body = post_import(api(county_a), "wide.xlsx", content, dry_run=True).json()
    assert body["error_count"] == 1 and "XFD" in messages(body)


def test_rows_past_the_limit_are_refused_whether_declared_or_not(settings, county_a):
    settings.IMPORT_MAX_ROWS = 20
    rows = [HEADER] + [row(编号=f"411502-2025-B{i:03d}") for i in range(25)]
    honest = patched_xlsx(rows)
    liar = patched_xlsx(rows, dimension="A1:O3")
    for content in (honest, liar):
        body = post_import(api(county_a), "long.xlsx", content, dry_run=True).json()
        assert body["error_count"] == 1 and "26" in messages(body) and "20" in messages(body)
    settings.IMPORT_MAX_ROWS = 26
    body = post_import(api(county_a), "long.xlsx", liar, dry_run=True).json()
    assert body["errors"] == [] and body["created"] == 25


def test_a_zip_bomb_is_refused_from_the_declared_sizes(county_a):
    bomb = patched_xlsx([HEADER, row()], extra_parts={"xl/media/image1.bin": b"\0" * (20 * 1024 * 1024)})
    assert len(bomb) < 100_000
    body = post_import(api(county_a), "bomb.xlsx", bomb, dry_run=True).json()
    assert body["error_count"] == 1 and "压缩炸弹" in messages(body)


def test_a_workbook_unpacking_past_the_limit_is_refused(settings, county_a):
    settings.IMPORT_MAX_UNPACKED_BYTES = 20_000
    rows = [HEADER] + [row(编号=f"411502-2025-C{i:03d}", 问题内容=f"第{i}个问题" * 20) for i in range(60)]
    body = post_import(api(county_a), "big.xlsx", patched_xlsx(rows), dry_run=True).json()
    assert body["error_count"] == 1 and "KB" in messages(body)


def test_a_damaged_workbook_is_a_clear_error(county_a):
    content = patched_xlsx([HEADER, row()])
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(broken, "w") as target:
        for info in source.infolist():
            if info.filename != "xl/_rels/workbook.xml.rels":
                target.writestr(info, source.read(info.filename))
    body = post_import(api(county_a), "broken.xlsx", broken.getvalue(), dry_run=True).json()
    assert body["error_count"] == 1 and body["errors"][0]["row"] is None


# -- CSV: the same reader for the dry run and the real run --------------------------------------


def csv_with_nul_after(offset: int, rows: int = 400) -> bytes:
    body = io.StringIO()
    writer = csv.writer(body)
    writer.writerow(HEADER)
    for i in range(rows):
        writer.writerow(row(编号=f"411502-2025-{i:05d}", 问题内容="用工缺口" * 40))
    data = body.getvalue().encode("utf-8")
    assert len(data) > offset + 1000
    return data[:offset] + b"\0" + data[offset:]


def test_a_nul_byte_past_the_first_64_kb_is_the_same_row_error_in_the_dry_and_the_real_run(county_a):
    content = csv_with_nul_after(70_000)
    client = api(county_a)
    dry = post_import(client, "nul.csv", content, dry_run=True)
    real = post_import(client, "nul.csv", content, dry_run=False)
    assert (dry.status_code, real.status_code) == (200, 400)
    assert dry.json()["errors"] == real.json()["errors"]
    [error] = real.json()["errors"]
    assert error["row"] > 50 and "NUL" in error["message"]
    assert Case.objects.count() == 0


def test_run_import_reads_the_nul_file_identically_in_both_passes(county_a, tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(csv_with_nul_after(100_000))
    dry = run_import(path, by=county_a, dry_run=True)
    real = run_import(path, by=county_a, dry_run=False)
    assert dry["errors"] == real["errors"] and len(real["errors"]) == 1
    assert Case.objects.count() == 0


def test_csv_rows_past_the_limit_are_refused(settings, county_a, write_csv):
    settings.IMPORT_MAX_ROWS = 10
    path = write_csv([row(编号=f"411502-2025-D{i:03d}") for i in range(12)])
    summary = run_import(path, by=county_a, dry_run=True)
    assert summary["error_count"] == 1 and "11" in summary["errors"][0]["message"]


def test_csv_empty_cells_past_40_columns_are_ignored_but_text_there_is_refused(county_a, write_csv):
    empty_tail = write_csv([row() + [""] * 30], header=HEADER + [""] * 30, name="tail.csv")  # 45 fields
    assert run_import(empty_tail, by=county_a, dry_run=True)["errors"] == []
    text_tail = write_csv([row() + [""] * 29 + ["备注"]], header=HEADER + [""] * 30, name="text.csv")
    summary = run_import(text_tail, by=county_a, dry_run=True)
    assert summary["error_count"] == 1 and "AS" in summary["errors"][0]["message"]  # column 45


# -- size and time ----------------------------------------------------------------------------


def test_the_api_and_the_page_refuse_an_upload_over_the_size_limit(settings, client, county_a):
    settings.IMPORT_MAX_BYTES = 2_000
    content = (EXAMPLES / "ledger-example.csv").read_bytes()
    assert len(content) > 2_000
    response = post_import(api(county_a), "big.csv", content, dry_run=True)
    assert response.status_code == 400 and "2.0\xa0KB" in response.json()["file"][0]
    client.force_login(county_a)
    response = client.post("/import/", {"file": SimpleUploadedFile("big.csv", content), "dry_run": "on"})
    assert response.status_code == 400 and "2.0\xa0KB" in response.content.decode()
    assert not list(upload_dir().iterdir())


class FakeClock:
    """time.monotonic for the reader and the engine: one second passes at every look."""

    def __init__(self):
        self.now = 1000.0
        self.looks = 0

    def __call__(self) -> float:
        self.looks += 1
        self.now += 1
        return self.now


def test_an_import_past_its_time_budget_stops_with_a_clear_error_and_writes_nothing(monkeypatch, city_user):
    path = Path(EXAMPLES / "ledger-example.xlsx")
    clock = FakeClock()
    monkeypatch.setattr(reader_module.time, "monotonic", clock)
    dry = run_import(path, by=city_user, dry_run=True, time_budget=10_000)
    assert dry["errors"] == [] and dry["created"] == 30
    validation_looks = clock.looks
    # Enough time to check every row, not enough to write them: the write pass stops and rolls back.
    real = run_import(path, by=city_user, dry_run=False, time_budget=validation_looks + 10)
    assert real["created"] == 0 and real["error_count"] == 1
    assert real["errors"][0]["message"].startswith("写入问题超过了允许的时间")  # the writing, not the reading
    assert Case.objects.count() == 0


def test_a_job_has_one_budget_for_checking_and_one_for_writing(settings, monkeypatch, city_user):
    path = Path(EXAMPLES / "ledger-example.csv")
    monkeypatch.setattr(reader_module.time, "monotonic", FakeClock())
    settings.IMPORT_TIME_BUDGET, settings.IMPORT_WRITE_TIME_BUDGET = 10, 10_000
    checked = run_import(path, by=city_user, dry_run=True)
    assert checked["error_count"] == 1 and checked["errors"][0]["message"].startswith("读取文件超过了允许的时间")
    settings.IMPORT_TIME_BUDGET, settings.IMPORT_WRITE_TIME_BUDGET = 10_000, 10
    written = run_import(path, by=city_user, dry_run=False)
    assert written["error_count"] == 1 and written["errors"][0]["message"].startswith("写入问题超过了允许的时间")
    assert written["created"] == 0 and Case.objects.count() == 0
    settings.IMPORT_WRITE_TIME_BUDGET = 10_000
    assert run_import(path, by=city_user, dry_run=False)["created"] == 30


def test_the_api_uses_its_own_short_time_budget(settings, county_a):
    settings.IMPORT_API_TIME_BUDGET = 0
    content = (EXAMPLES / "ledger-example.csv").read_bytes()
    body = post_import(api(county_a), "ledger.csv", content, dry_run=True).json()
    assert body["error_count"] == 1 and body["created"] == 0


def test_rows_and_cells_written_without_references_are_still_read(county_a):
    """Some generators omit ``r`` on rows and cells (allowed by the format): counted, and read in full."""
    values = row(编号="411502-2025-E001")
    cells = "".join(f'<c t="inlineStr"><is><t>{value}</t></is></c>' for value in values)
    content = patched_xlsx([HEADER], dimension="A1", extra_rows=f"<row>{cells}</row>")
    body = post_import(api(county_a), "plain.xlsx", content, dry_run=False).json()
    assert body["errors"] == [] and body["created"] == 1
    assert Case.objects.get().ref == "411502-2025-E001"
