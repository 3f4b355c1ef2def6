"""Importing whole files: the example ledgers, encodings, XLSX, idempotence, all-or-nothing."""

import json

import pytest
from django.core.management import call_command

from cases.importing import run_import
from cases.models import Case, Department, Evidence, State
from ledger.completeness import missing_for_case
from ledger.models import LedgerEntry
from ledger.verify import verify_cases
from tests.conftest import xlsx_bytes

from .conftest import HEADER, row

pytestmark = pytest.mark.django_db


def test_example_csv_imports_cleanly_with_history_as_ledger_entries(examples, city_user):
    summary = run_import(examples / "ledger-example.csv", by=city_user, dry_run=False)
    assert summary["errors"] == [] and summary["created"] == 30 and summary["unchanged"] == 0
    assert {d["region"] for d in summary["departments_created"]} == {"411503", "411522", "411525"}
    assert Case.objects.count() == 30
    assert set(Case.objects.values_list("state", flat=True)) == set(State.values)
    assert list(verify_cases(Case.objects.all())) == []
    assert set(LedgerEntry.objects.values_list("source", flat=True)) == {"import"}
    case = Case.objects.get(ref="411522-2024-T001")
    entries = list(case.ledger_entries.order_by("seq"))
    assert [e.action for e in entries] == ["create", "assign", "explain"]
    # The file's times are the occurred_at; the recording time is now.
    assert entries[0].occurred_at.isoformat() == "2024-03-13T01:36:00+00:00"
    assert entries[2].occurred_at.isoformat() == "2024-03-15T07:30:00+00:00"
    assert all(e.recorded_at.year >= 2025 for e in entries)
    assert case.evidence.get().reference == "办理情况说明1.pdf"
    # Closed without 佐证材料: imported as it was, and item 13 sees what it lacks.
    bare = Case.objects.get(ref="411522-2024-T007")
    assert bare.state == State.RESOLVED and not bare.evidence.exists()
    assert "evidence" in missing_for_case(bare)


def test_example_xlsx_imports_the_same_and_reimport_changes_nothing(examples, city_user):
    first = run_import(examples / "ledger-example.xlsx", by=city_user, dry_run=False)
    assert first["errors"] == [] and first["created"] == 30
    counts = (Case.objects.count(), LedgerEntry.objects.count(), Department.objects.count(), Evidence.objects.count())
    again = run_import(examples / "ledger-example.csv", by=city_user, dry_run=False)
    assert again == {**again, "created": 0, "unchanged": 30, "departments_created": [], "errors": []}
    assert (
        Case.objects.count(),
        LedgerEntry.objects.count(),
        Department.objects.count(),
        Evidence.objects.count(),
    ) == counts


def test_dry_run_reports_what_would_be_created_and_writes_nothing(examples, city_user):
    summary = run_import(examples / "ledger-example.csv", by=city_user, dry_run=True)
    assert summary["dry_run"] is True and summary["created"] == 30 and summary["errors"] == []
    assert len(summary["departments_created"]) > 0
    assert Case.objects.count() == 0 and Department.objects.count() == 0


def test_gb18030_and_bom_csv_are_read(write_csv, county_a):
    path = write_csv([row()], encoding="gb18030")
    summary = run_import(path, by=county_a, dry_run=False)
    assert summary["errors"] == [] and summary["created"] == 1
    case = Case.objects.get()
    assert case.enterprise.name == "信阳示例纺织有限公司" and case.department.name == "县人社局"
    assert sorted(case.evidence.values_list("reference", flat=True)) == ["会议纪要2.pdf", "办理情况说明1.pdf"]
    path = write_csv([row(编号="B-2")], encoding="utf-8-sig", name="bom.csv")
    assert run_import(path, by=county_a, dry_run=False)["created"] == 1


def test_english_headers_and_english_states_and_codes(write_csv, county_a):
    english = [
        "ref",
        "region",
        "enterprise",
        "credit_code",
        "category",
        "channel",
        "description",
        "received_at",
        "department",
        "assigned_at",
        "due_date",
        "state",
        "closed_at",
        "result",
        "evidence",
    ]
    path = write_csv(
        [
            row(
                问题类别="labour",
                反映渠道="hotline",
                办理状态="assigned",
                办结时间="",
                办理结果="",
                佐证材料="",
                办理时限="2025-03-31",
            )
        ],
        header=english,
    )
    summary = run_import(path, by=county_a, dry_run=False)
    assert summary["errors"] == [], summary
    case = Case.objects.get()
    assert case.state == State.ASSIGNED and case.due_date.isoformat() == "2025-03-31"


def test_xlsx_with_a_title_row_dates_as_cells_and_extra_columns(tmp_path, county_a):
    import datetime as dt

    header = ["序号", *HEADER, "备注"]
    values = row(办理状态="已受理", 责任单位="", 交办时间="", 办结时间="", 办理结果="", 佐证材料="")
    values[7] = dt.datetime(2025, 3, 13, 9, 36)
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(xlsx_bytes([["浉河区企业问题台帐（2025年）"], header, [1, *values, "无"]]))
    summary = run_import(path, by=county_a, dry_run=False)
    assert summary["errors"] == [], summary
    assert Case.objects.get().received_at.isoformat() == "2025-03-13T01:36:00+00:00"


def test_all_or_nothing_one_bad_row_writes_nothing(write_csv, county_a):
    path = write_csv([row(编号=f"R-{n}") for n in range(5)] + [row(编号="R-bad", 问题类别="不存在的类别")])
    summary = run_import(path, by=county_a, dry_run=False)
    assert summary["created"] == 0 and summary["errors"] == [
        {"sheet": None, "row": 7, "column": "问题类别", "message": summary["errors"][0]["message"]}
    ]
    assert Case.objects.count() == 0 and Department.objects.count() == 0 and LedgerEntry.objects.count() == 0


@pytest.mark.parametrize("write_path", ["bulk", "services"])
def test_what_is_written_is_what_was_checked_even_if_the_file_changes_in_between(write_csv, county_a, write_path):
    """Pass two writes the rows pass one checked, kept aside, not the file read again: a file
    overwritten between the passes (another upload to the same place) changes nothing written."""
    path = write_csv([row(编号=f"R-{n}", 问题内容=f"原内容{n}") for n in range(3)])

    def overwrite(phase, done, fraction):
        if phase == "validating" and fraction == 1.0:
            write_csv([row(编号="R-other", 问题类别="不存在的类别")], name=path.name)

    summary = run_import(path, by=county_a, dry_run=False, progress=overwrite, write_path=write_path)
    assert summary["errors"] == [] and summary["created"] == 3
    assert sorted(Case.objects.values_list("ref", "description")) == [(f"R-{n}", f"原内容{n}") for n in range(3)]
    assert not list(verify_cases(Case.objects.all()))


@pytest.mark.parametrize("fails", ["opening", "writing"])
def test_no_room_for_the_checked_rows_is_a_clear_error_and_writes_nothing(write_csv, county_a, monkeypatch, fails):
    import errno
    import tempfile

    from cases.importing import engine

    class Full:
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self):
            pass

    def temporary_file(*args, **kwargs):
        if fails == "opening":
            raise OSError(errno.ENOSPC, "No space left on device")
        return Full()

    monkeypatch.setattr(engine.tempfile, "TemporaryFile", temporary_file)
    summary = run_import(write_csv([row(编号=f"R-{n}") for n in range(3)]), by=county_a, dry_run=False)
    assert summary["created"] == 0 and summary["error_count"] == 1
    assert "服务器已没有空间" in summary["errors"][0]["message"] and Case.objects.count() == 0
    monkeypatch.setattr(engine.tempfile, "TemporaryFile", tempfile.TemporaryFile)
    assert run_import(write_csv([row(编号="R-9")]), by=county_a, dry_run=True)["created"] == 1  # a dry run keeps none


def test_county_office_may_not_import_another_region(write_csv, county_b):
    summary = run_import(write_csv([row()]), by=county_b, dry_run=False)
    assert [(e["row"], e["column"]) for e in summary["errors"]] == [(2, "县区代码")]
    assert Case.objects.count() == 0


def test_import_ledger_command_prints_the_summary_and_fails_on_errors(examples, write_csv, city_user, capsys):
    call_command("import_ledger", str(examples / "ledger-example.csv"), "--dry-run", "--user", "city")
    summary = json.loads(capsys.readouterr().out)
    assert summary["created"] == 30 and summary["dry_run"] is True and Case.objects.count() == 0
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_ledger", str(write_csv([row(统一社会信用代码="914115683BJ1XG612A")])), "--user", "city")
    assert exit_info.value.code == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["errors"][0]["column"] == "统一社会信用代码"
