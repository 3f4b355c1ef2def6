"""Each bad input of issue 6 is a clear row-level (or file-level) error, and nothing is written."""

import os
import time
import tracemalloc

import pytest

from cases.importing import run_import
from cases.models import Case, Department
from ledger.models import LedgerEntry

from .conftest import HEADER, row

pytestmark = pytest.mark.django_db


def errors_of(path, user, *, dry_run=False):
    summary = run_import(path, by=user, dry_run=dry_run)
    assert summary["created"] == 0
    assert Case.objects.count() == 0 and LedgerEntry.objects.count() == 0 and Department.objects.count() == 0
    return [(e["row"], e["column"]) for e in summary["errors"]], summary


@pytest.mark.parametrize(
    "changes, column",
    [
        ({"统一社会信用代码": "914115683BJ1XG612A"}, "统一社会信用代码"),
        ({"县区代码": "419999"}, "县区代码"),
        ({"问题类别": "天气"}, "问题类别"),
        ({"办理状态": "已办完"}, "办理状态"),
        ({"办结时间": ""}, "办结时间"),
        ({"办理结果": ""}, "办理结果"),
        ({"办结时间": "2025-03-12 10:00"}, "办结时间"),
        (
            {
                "受理时间": "2999-01-01 09:00",
                "交办时间": "",
                "责任单位": "",
                "办理状态": "已受理",
                "办结时间": "",
                "办理结果": "",
            },
            "受理时间",
        ),
        ({"受理时间": "去年三月"}, "受理时间"),
        ({"责任单位": ""}, "责任单位"),
        ({"企业名称": ""}, "企业名称"),
    ],
)
def test_row_error_names_row_and_column(write_csv, county_a, changes, column):
    path = write_csv([row(编号="OK-1"), row(**changes)])
    found, summary = errors_of(path, county_a)
    assert (3, column) in found, summary
    assert all(e["message"] for e in summary["errors"])


def test_dry_run_lists_every_error_of_every_row(write_csv, county_a):
    path = write_csv(
        [row(编号="A", 统一社会信用代码="914115683BJ1XG612A", 问题类别="天气"), row(编号="B", 县区代码="x")]
    )
    found, summary = errors_of(path, county_a, dry_run=True)
    assert found == [(2, "统一社会信用代码"), (2, "问题类别"), (3, "县区代码")]
    assert summary["error_count"] == 3


def test_duplicate_number_within_the_file(write_csv, county_a):
    found, summary = errors_of(write_csv([row(), row(企业名称="另一家")]), county_a)
    assert found == [(3, "编号")]
    assert "2" in summary["errors"][0]["message"]


def test_missing_header_is_reported_by_name(write_csv, county_a):
    header = [h for h in HEADER if h != "问题类别"]
    values = row()
    del values[HEADER.index("问题类别")]
    found, summary = errors_of(write_csv([values], header=header), county_a)
    assert found == [(1, "问题类别（category）")]


def test_file_that_is_not_a_spreadsheet(tmp_path, county_a):
    path = tmp_path / "photo.csv"
    path.write_bytes(bytes.fromhex("89504e470d0a1a0a0000000d49484452") + os.urandom(4000))
    found, summary = errors_of(path, county_a)
    assert found == [(None, None)] and summary["errors"][0]["message"]
    zipped = tmp_path / "archive.xlsx"
    import zipfile

    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert errors_of(zipped, county_a)[0] == [(None, None)]


def test_text_that_is_no_ledger_has_no_header(tmp_path, county_a):
    path = tmp_path / "notes.csv"
    path.write_text("会议记录\n今天讨论了三件事\n", encoding="utf-8")
    found, _summary = errors_of(path, county_a)
    assert found == [(1, None)]


def test_empty_file_and_header_only_file(tmp_path, write_csv, county_a):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert errors_of(empty, county_a)[0] == [(None, None)]
    assert errors_of(write_csv([]), county_a)[0] == [(None, None)]


def test_fifty_megabytes_of_junk_is_refused_fast_in_bounded_memory(tmp_path, county_a):
    path = tmp_path / "junk.xlsx"
    with path.open("wb") as handle:
        for _ in range(50):
            handle.write(os.urandom(1024 * 1024))
    text_junk = tmp_path / "junk.csv"
    with text_junk.open("w", encoding="ascii") as handle:
        line = "x" * (1024 * 1024)
        for _ in range(50):
            handle.write(line)
    for junk in (path, text_junk):
        tracemalloc.start()
        started = time.monotonic()
        found, _summary = errors_of(junk, county_a)
        elapsed = time.monotonic() - started
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert len(found) == 1
        assert elapsed < 2.0 and peak < 16 * 1024 * 1024, (junk.name, elapsed, peak)


def test_old_xls_file_is_refused_with_advice(tmp_path, county_a):
    path = tmp_path / "old.xls"
    path.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 2048)
    found, summary = errors_of(path, county_a)
    assert found == [(None, None)] and ".xlsx" in summary["errors"][0]["message"]


def test_a_department_user_may_not_import(write_csv, dept_x_user):
    from cases.errors import NotAllowed

    with pytest.raises(NotAllowed):
        run_import(write_csv([row()]), by=dept_x_user, dry_run=True)


def test_messages_are_in_chinese(write_csv, county_a):
    path = write_csv([row(问题类别="天气", 办结时间="2025-03-12 10:00")])
    _found, summary = errors_of(path, county_a, dry_run=True)
    messages = {e["column"]: e["message"] for e in summary["errors"]}
    assert messages["问题类别"] == "未知问题类别“天气”。"
    assert messages["办结时间"] == "办结时间早于受理时间。"
