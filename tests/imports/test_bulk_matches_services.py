"""The bulk write pass leaves exactly what the services leave, row by row (hypothesis).

Each generated file (CSV, or an XLSX workbook with two ledger sheets) is imported twice into the
same starting state — once through ``cases.services`` (``write_path="services"``), once in bulk —
each inside a transaction rolled back afterwards (and the id sequences put back on PostgreSQL), at
one frozen moment. Every case, ledger entry (payload, times, hashes), head, enterprise,
department, evidence item, routing record, number counter, search document (the case already on
record included: its enterprise renamed by the file) and the summary must be equal.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from cases import credit_code, services
from cases.importing import run_import
from cases.models import (
    Case,
    CaseAssignment,
    CaseNumberCounter,
    Category,
    Channel,
    Department,
    DepartmentCase,
    Enterprise,
    Evidence,
)
from cases.search.models import RoutingModelRegion, RoutingTerm, RoutingWeight, SearchDocument
from ledger.models import LedgerEntry, LedgerHead, Source
from ledger.verify import verify_cases

from .conftest import HEADER

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 1, 12, 10, 0, tzinfo=SHANGHAI)
HEADER_PLUS = [*HEADER, "政策依据", "告知去向", "联系人", "企业规模"]


def _code(n: int) -> str:
    first17 = f"91411502MA{n:07d}"
    return first17 + credit_code.check_character(first17)


CODES = [_code(n) for n in range(1, 6)]
NAMES = ["信阳甲纺织有限公司", "信阳乙食品有限公司", "浉河丙机械厂"]
STATES = {"received": "已受理", "assigned": "已交办", "resolved": "已解决", "explained": "已解释答复"}


@st.composite
def ledger_rows(draw):
    count = draw(st.integers(1, 9))
    refs = draw(
        st.lists(
            st.sampled_from([f"R-{n}" for n in range(1, 15)] + ["EXIST-1"]), min_size=count, max_size=count, unique=True
        )
    )
    rows = []
    for ref in refs:
        region = draw(st.sampled_from(["411502", "411503"]))
        state = draw(st.sampled_from(list(STATES)))
        received = dt.datetime(2025, 1, 1, 8, tzinfo=SHANGHAI) + dt.timedelta(
            days=draw(st.integers(0, 360)), hours=draw(st.integers(0, 10)), minutes=draw(st.integers(0, 59))
        )
        assigned = received + dt.timedelta(hours=draw(st.integers(0, 30)))
        closed = assigned + dt.timedelta(hours=draw(st.integers(1, 200)))
        routed, done = state != "received", state in ("resolved", "explained")
        department = draw(
            st.sampled_from(
                ["浉河区工信局", "新设的局", "市发改委"]
                if region == "411502"
                else ["平桥区工信局", "新设的局", "市发改委"]
            )
        )
        due = draw(st.one_of(st.none(), st.integers(0, 40)))
        evidence = draw(st.lists(st.sampled_from(["说明.pdf", "纪要.docx", "照片1.jpg"]), max_size=3, unique=True))
        rows.append(
            {
                "编号": ref,
                "县区代码": region,
                "企业名称": draw(st.sampled_from(NAMES)),
                "统一社会信用代码": draw(st.sampled_from(CODES)),
                "问题类别": draw(st.sampled_from(["用工对接", "银企对接", "approval"])),
                "反映渠道": draw(st.sampled_from(["", "热线电话"])),
                "问题内容": draw(st.sampled_from(["缺工", "贷款难 \n续贷"])),
                "受理时间": f"{received:%Y-%m-%d %H:%M}",
                "责任单位": department if routed else "",
                "交办时间": f"{assigned:%Y-%m-%d %H:%M}" if routed else "",
                "办理时限": (received.date() + dt.timedelta(days=due)).isoformat() if due is not None else "",
                "办理状态": STATES[state],
                "办结时间": f"{closed:%Y-%m-%d %H:%M}" if done else "",
                "办理结果": draw(st.sampled_from(["已协调解决", " 已答复 "])) if done else "",
                "佐证材料": "；".join(evidence) if done else "",
                "政策依据": draw(st.sampled_from(["", "某某政策"])) if state == "explained" else "",
                "告知去向": draw(st.sampled_from(["", "市场监管局"])) if state == "explained" else "",
                "联系人": draw(st.sampled_from(["", "张三"])),
                "企业规模": draw(st.sampled_from(["", "小微", "规模以上"])),
            }
        )
    return rows, draw(st.booleans())


def _file(tmp_path, rows: list[dict], as_workbook: bool):
    lines = [[row[h] for h in HEADER_PLUS] for row in rows]
    note = [f"合计：{len(rows)}件"] + [""] * (len(HEADER_PLUS) - 1)
    if not as_workbook:
        buffer = io.StringIO()
        csv.writer(buffer).writerows([HEADER_PLUS, *lines, note])
        path = tmp_path / "ledger.csv"
        path.write_text(buffer.getvalue(), encoding="utf-8")
        return path
    workbook = Workbook()
    half = (len(lines) + 1) // 2
    for index, (title, part) in enumerate((("2024年", lines[:half]), ("2025年", lines[half:]))):
        sheet = workbook.active if index == 0 else workbook.create_sheet()
        sheet.title = title
        sheet.append(["企业问题台帐"])
        for line in [HEADER_PLUS, *part, note]:
            sheet.append(line)
    workbook.create_sheet("填表说明").append(["本表由县区服务办填报"])
    path = tmp_path / "ledger.xlsx"
    workbook.save(path)
    return path


def _fields(obj, skip=()) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.attname not in skip}


def _snapshot() -> dict:
    numbers = dict(Case.objects.values_list("pk", "number"))
    codes = dict(Enterprise.objects.values_list("pk", "credit_code"))
    cases = {}
    for case in Case.objects.all():
        row = _fields(case, skip=("id", "enterprise_id"))
        row["enterprise"] = codes[case.enterprise_id]
        cases[case.number] = row
    return {
        "cases": cases,
        "entries": {(numbers[e.case_id], e.seq): _fields(e, skip=("id", "case_id")) for e in LedgerEntry.objects.all()},
        "heads": {numbers[h.case_id]: _fields(h, skip=("case_id",)) for h in LedgerHead.objects.all()},
        "enterprises": {e.credit_code: (e.pk, e.name, e.size) for e in Enterprise.objects.all()},
        "departments": sorted(Department.objects.values_list("pk", "region_id", "name", "active")),
        "evidence": sorted(
            (numbers[e.case_id], *_fields(e, skip=("case_id",)).values()) for e in Evidence.objects.all()
        ),
        "assignments": sorted(
            (numbers[a.case_id], a.department_id, a.assigned_at) for a in CaseAssignment.objects.all()
        ),
        "department_cases": sorted(
            (numbers[d.case_id], d.department_id, d.received_at, d.category_id, d.state, d.open, d.satisfaction)
            for d in DepartmentCase.objects.all()
        ),
        "counters": sorted(CaseNumberCounter.objects.values_list("region_id", "year", "last_serial")),
        "search": {
            numbers[d.case_id]: (d.region_id, d.ident, d.enterprise, d.body, d.departments)
            for d in SearchDocument.objects.all()
        },
        "verify": [r.problems for r in verify_cases(Case.objects.all())],
        # The routing model: learned case by case by the services, once per import in bulk.
        "routing_weights": {
            (w.region_id, w.term, w.department_id): (
                round(w.weight, 9),
                w.held,
                w.closed,
                [numbers[int(pk)] for pk, _number in w.similar],
            )
            for w in RoutingWeight.objects.all()
        },
        "routing_terms": sorted(RoutingTerm.objects.values_list("region_id", "term", "cases")),
        "routing_regions": sorted(RoutingModelRegion.objects.values_list("region_id", "ready", "cases")),
    }


class _RolledBack(Exception):
    pass


def _sequences() -> list[tuple[str, int, bool]]:
    if connection.vendor != "postgresql":
        return []  # SQLite's AUTOINCREMENT counters are rows: the rollback puts them back
    found = []
    with connection.cursor() as cursor:
        for model in (
            Case,
            Enterprise,
            Department,
            Evidence,
            CaseAssignment,
            DepartmentCase,
            CaseNumberCounter,
            LedgerEntry,
        ):
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
            name = cursor.fetchone()[0]
            cursor.execute(f"SELECT last_value, is_called FROM {name}")  # noqa: S608 - a sequence's own name
            found.append((name, *cursor.fetchone()))
    return found


def _import_and_roll_back(path, user, write_path: str) -> tuple[dict, dict]:
    sequences = _sequences()
    try:
        with transaction.atomic():
            summary = run_import(path, by=user, dry_run=False, write_path=write_path)
            state = _snapshot()
            raise _RolledBack
    except _RolledBack:
        pass
    with connection.cursor() as cursor:
        for name, value, called in sequences:
            cursor.execute("SELECT setval(%s, %s, %s)", [name, value, called])
    return summary, state


@pytest.fixture
def starting_state(city_user, county_a, region_a, region_b, dept_x, dept_z, city_dept):
    """Departments of both counties and the city, one enterprise already on record under another
    name, and a case already imported with the number EXIST-1."""
    Enterprise.objects.create(credit_code=CODES[0], name="旧名称企业", size=Enterprise.Size.DOUBLE_THIRTY)
    with time_machine.travel(NOW - dt.timedelta(days=30), tick=False):
        services.create_case(
            by=county_a,
            region=region_a,
            enterprise_name="旧名称企业",
            credit_code_value=CODES[0],
            category=Category.objects.get(name="用工对接"),
            channel=Channel.objects.get(code="hotline"),
            description="早已导入",
            ref="EXIST-1",
            source=Source.IMPORT,
            received_at=dt.datetime(2025, 6, 1, 9, tzinfo=SHANGHAI),
        )
    return city_user


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(generated=ledger_rows())
def test_bulk_import_writes_what_the_services_write(starting_state, tmp_path, generated):
    rows, as_workbook = generated
    path = _file(tmp_path, rows, as_workbook)
    with time_machine.travel(NOW, tick=False):
        by_services = _import_and_roll_back(path, starting_state, "services")
        in_bulk = _import_and_roll_back(path, starting_state, "bulk")
    assert by_services[0]["errors"] == [] and by_services[0]["created"] + by_services[0]["unchanged"] == len(rows)
    assert in_bulk[0] == by_services[0]
    services_state, bulk_state = by_services[1], in_bulk[1]
    for part in services_state:
        assert bulk_state[part] == services_state[part], part
    assert services_state["verify"] == []
    assert services_state["entries"]  # the comparison compared something


def recurring_rows(count: int = 23) -> list[dict]:
    """Rows of both counties in every state, with texts that recur across batches and texts of
    their own, and an enterprise on record (renamed by the file)."""
    texts = ["缺工", "贷款难 \n续贷", "企业用电增容申请迟迟未批复", "稳岗补贴申领困难", "研发费用加计扣除政策咨询"]
    rows = []
    for n in range(count):
        state = list(STATES)[n % 4]
        received = dt.datetime(2025, 3, 1, 9, tzinfo=SHANGHAI) + dt.timedelta(days=n * 7, hours=n % 5)
        routed, done = state != "received", state in ("resolved", "explained")
        rows.append(
            {
                "编号": f"AHEAD-{n}",
                "县区代码": ["411502", "411503"][n % 2],
                "企业名称": NAMES[n % 3],
                "统一社会信用代码": CODES[n % 5],
                "问题类别": ["用工对接", "银企对接", "approval"][n % 3],
                "反映渠道": "热线电话",
                "问题内容": texts[n % 5] + (f"（第{n}件）" if n % 3 else ""),
                "受理时间": f"{received:%Y-%m-%d %H:%M}",
                "责任单位": ("市发改委" if n % 2 else "浉河区工信局") if routed else "",
                "交办时间": f"{received + dt.timedelta(hours=3):%Y-%m-%d %H:%M}" if routed else "",
                "办理时限": "",
                "办理状态": STATES[state],
                "办结时间": f"{received + dt.timedelta(days=4):%Y-%m-%d %H:%M}" if done else "",
                "办理结果": "已协调解决" if done else "",
                "佐证材料": "说明.pdf" if done else "",
                "政策依据": "某某政策" if state == "explained" else "",
                "告知去向": "",
                "联系人": "张三",
                "企业规模": "小微",
            }
        )
    return rows


def test_segmenting_ahead_in_a_child_process_writes_what_the_services_write(starting_state, tmp_path, monkeypatch):
    """A large file's bulk import hands each batch's texts to a child process and writes the batch
    before meanwhile (``AheadSegmenter``): small batches here, so the hand-over happens many times,
    with texts that recur across batches and texts of their own."""
    from cases.importing import bulk, engine
    from cases.search import routing_model

    rows = recurring_rows()
    path = _file(tmp_path, rows, as_workbook=False)
    started = []
    real_submit = bulk.AheadSegmenter.submit

    def submit(self, texts):
        ticket = real_submit(self, texts)
        started.append(ticket is not None)
        return ticket

    monkeypatch.setattr(bulk.AheadSegmenter, "submit", submit)
    monkeypatch.setattr(bulk, "BATCH_ROWS", 4)
    # The routing model's gathered rows written several times along the way (memory bound), not once.
    monkeypatch.setattr(routing_model, "BULK_ROWS_IN_MEMORY", 5)
    with time_machine.travel(NOW, tick=False):
        by_services = _import_and_roll_back(path, starting_state, "services")
        monkeypatch.setattr(engine, "AHEAD_ROWS", 1)
        ahead = _import_and_roll_back(path, starting_state, "bulk")
    assert len(started) >= 6 and all(started)  # every batch went to the child process
    assert by_services[0]["errors"] == [] and by_services[0]["created"] == len(rows)
    assert ahead[0] == by_services[0]
    for part in by_services[1]:
        assert ahead[1][part] == by_services[1][part], part
    from cases.search import segment

    assert not segment._ahead  # the child's words are forgotten when the import ends


def test_the_checking_pass_has_the_batches_segmented_ahead_and_the_writer_uses_those_words(
    starting_state, tmp_path, monkeypatch
):
    """While pass one checks, the other core segments the batches to come (``engine._Spool``): the
    writer takes each batch's words from the child's answers — nothing is segmented in the
    importing process — and writes what the services write. Batches past ``AHEAD_BATCHES``
    unanswered are left to the writer to ask for, one batch ahead as before."""
    import inspect

    from cases.importing import bulk, engine
    from cases.search import segment

    rows = recurring_rows()
    path = _file(tmp_path, rows, as_workbook=True)
    asked_by: list[str] = []
    real_submit = segment.AheadSegmenter.submit

    def submit(self, texts):
        asked_by.append(inspect.stack()[1].function)
        return real_submit(self, texts)

    here: list[str] = []
    real_segmented = segment._segmented

    def segmented(text):
        here.append(text)
        return real_segmented(text)

    monkeypatch.setattr(bulk, "BATCH_ROWS", 4)
    with time_machine.travel(NOW, tick=False):
        by_services = _import_and_roll_back(path, starting_state, "services")
        monkeypatch.setattr(segment.AheadSegmenter, "submit", submit)
        monkeypatch.setattr(segment, "_segmented", segmented)
        monkeypatch.setattr(segment, "_recent", segmented)
        monkeypatch.setattr(engine, "AHEAD_ROWS", 1)
        monkeypatch.setattr(engine, "AHEAD_BATCHES", 3)
        ahead = _import_and_roll_back(path, starting_state, "bulk")
    batches = -(-len(rows) // 4)
    assert batches >= 6
    assert asked_by.count("_dump") >= 3 and asked_by.count("_new_rows") >= 1  # some ahead, the rest by the writer
    assert asked_by.count("_dump") + asked_by.count("_new_rows") == len(asked_by)
    assert here == []  # every word from the child
    assert ahead[0] == by_services[0]
    for part in by_services[1]:
        assert ahead[1][part] == by_services[1][part], part
    assert not segment._ahead


def test_an_error_in_the_checking_pass_stops_the_segmenting_child_at_once(starting_state, tmp_path, monkeypatch):
    """Once pass one finds an error nothing will be written: the child segmenting the batches
    ahead is stopped then, not when the whole file has been checked."""
    from cases.importing import bulk, engine
    from cases.search import segment

    rows = recurring_rows()
    rows[len(rows) // 2]["受理时间"] = "not a date"
    path = _file(tmp_path, rows, as_workbook=False)
    checked: list[int] = []
    closed_after: list[int] = []
    real_row, real_close = engine._Validation.row, segment.AheadSegmenter.close

    def row(self, *args):
        checked.append(1)
        return real_row(self, *args)

    def close(self):
        closed_after.append(len(checked))
        return real_close(self)

    monkeypatch.setattr(engine._Validation, "row", row)
    monkeypatch.setattr(segment.AheadSegmenter, "close", close)
    monkeypatch.setattr(bulk, "BATCH_ROWS", 4)
    monkeypatch.setattr(engine, "AHEAD_ROWS", 1)
    with time_machine.travel(NOW, tick=False):
        summary = run_import(path, by=starting_state, dry_run=False, write_path="bulk")
    assert summary["error_count"] == 1 and summary["created"] == 0
    assert closed_after == [len(rows) // 2 + 1]  # at the row with the error, once


def test_a_file_imported_again_has_nothing_segmented_ahead(starting_state, tmp_path, monkeypatch):
    """Pass one tells the spool which rows are on record already: their texts are not segmented
    (nothing of theirs is written), so a file imported again starts no child at all."""
    from cases.importing import bulk, engine
    from cases.search import segment

    path = _file(tmp_path, recurring_rows(), as_workbook=False)
    started: list[int] = []
    real_start = segment.AheadSegmenter._start

    def start(self):
        started.append(1)
        return real_start(self)

    monkeypatch.setattr(segment.AheadSegmenter, "_start", start)
    monkeypatch.setattr(bulk, "BATCH_ROWS", 4)
    monkeypatch.setattr(engine, "AHEAD_ROWS", 1)
    with time_machine.travel(NOW, tick=False):
        first = run_import(path, by=starting_state, dry_run=False, write_path="bulk")
        assert first["created"] == len(recurring_rows()) and started
        started.clear()
        again = run_import(path, by=starting_state, dry_run=False, write_path="bulk")
    assert again["created"] == 0 and again["unchanged"] == len(recurring_rows())
    assert started == []


def test_a_workbook_imported_again_has_nothing_segmented_ahead(starting_state, tmp_path, monkeypatch):
    """As above, with two sheets whose rows are not a multiple of a batch (11 and 11, batches of 4):
    pass one's lookups must stay in step with the spool's batches across the sheets."""
    from cases.importing import bulk, engine
    from cases.search import segment

    rows = recurring_rows(22)
    path = _file(tmp_path, rows, as_workbook=True)
    asked: list[list[str]] = []
    real_submit = segment.AheadSegmenter.submit

    def submit(self, texts):
        asked.append(list(texts))
        return real_submit(self, texts)

    monkeypatch.setattr(segment.AheadSegmenter, "submit", submit)
    monkeypatch.setattr(bulk, "BATCH_ROWS", 4)
    monkeypatch.setattr(engine, "AHEAD_ROWS", 1)
    with time_machine.travel(NOW, tick=False):
        first = run_import(path, by=starting_state, dry_run=False, write_path="bulk")
        assert first["created"] == len(rows), first
        asked.clear()
        again = run_import(path, by=starting_state, dry_run=False, write_path="bulk")
    assert again["created"] == 0 and again["unchanged"] == len(rows)
    assert [texts for texts in asked if texts] == []
