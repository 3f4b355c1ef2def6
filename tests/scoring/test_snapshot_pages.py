"""The scoresheet, the item drill-downs and the XLSX exports read the stored snapshot: they never
score the year on the request, and they show what the live scoring gives for the same state."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pytest
import time_machine
from openpyxl import load_workbook

from cases import services as cases
from scoring import exports, services, snapshots, tasks, views
from scoring.drilldown import ledger_rows, sort_rows, timeliness_rows
from scoring.exports import item_cases_xlsx, scoreboard_xlsx, scoresheet_xlsx
from scoring.models import Item
from scoring.results import score_year

from .conftest import at, close_without_evidence

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 1, 5)  # after the cutoff: the year is scored as of 2025-12-20


@pytest.fixture
def year_2025(history, region_a, region_b, county_b, dept_z, dept_z_user, make_case, assessor):
    """County A: on time, closed late (twice), open past due, pending, reopened; county B: one on
    time in a department, one open; an entry and an override."""
    history(at(2025, 3, 3), closed=at(2025, 3, 4))
    history(at(2025, 3, 3), closed=at(2025, 3, 20))
    history(at(2025, 3, 5), closed=at(2025, 5, 20))
    history(at(2025, 6, 2), assigned=at(2025, 6, 2, 11))
    history(at(2025, 12, 19))
    history(at(2025, 5, 6), closed=at(2025, 5, 7), reopened=at(2025, 5, 9), reclosed=at(2025, 5, 10))
    history(
        at(2025, 6, 2),
        closed=at(2025, 6, 3),
        by=county_b,
        department=dept_z,
        department_user=dept_z_user,
        region=region_b,
    )
    case = make_case(by=county_b, region=region_b, received_at=at(2025, 4, 3), now=at(2025, 4, 3))
    cases.assign(case, by=county_b, department=dept_z, now=at(2025, 4, 3, 11))
    for day in (3, 4):  # closings recorded without evidence (old imported ledgers): item 13 lists them
        case = history(at(2025, 3, day), assigned=at(2025, 3, day, 11))
        close_without_evidence(case, at(2025, 3, day + 2))
    services.set_item_points(2025, region_a, 1, by=assessor, points="5", note="资料齐全")
    services.set_item_points(2025, region_b, 15, by=assessor, points="2", note="复核扣分")


@pytest.fixture
def on_today():
    with time_machine.travel(dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC), tick=False):
        yield


def _refuse_scoring(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the year was scored on the request")

    monkeypatch.setattr(snapshots, "score_year", refuse)
    monkeypatch.setattr(views, "score_year", refuse)
    monkeypatch.setattr("scoring.services.score_year", refuse)


def _facts(detail):
    return snapshots._detail_facts(detail)


def _cells(body: bytes) -> dict[str, list[tuple]]:
    book = load_workbook(io.BytesIO(body))
    return {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}


def test_the_pages_and_exports_never_score_on_the_request(client, year_2025, assessor, monkeypatch, on_today):
    snapshots.refresh(2025)
    _refuse_scoring(monkeypatch)
    client.force_login(assessor)
    for url in (
        "/scoring/2025/411502/",
        "/scoring/2025/411503/",
        "/scoring/2025/411502/items/13/",
        "/scoring/2025/411502/items/14/",
        "/scoring/2025/411502/items/15/",
        "/scoring/2025/411502/items/15/?show=closed_late&sort=-number",
        "/scoring/2025/411502/items/15/?sort=-late",
        "/scoring/2025/411502/items/2/",
        "/scoring/2025/scores.xlsx",
        "/scoring/2025/411502/scoresheet.xlsx",
        "/scoring/2025/411502/items/15/cases.xlsx",
        "/scoring/2025/411502/items/13/cases.xlsx",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        if not url.endswith(".xlsx"):
            assert "computed-at" in response.content.decode(), url  # says when its scores were computed


def test_the_scoresheet_shows_the_live_scores_and_details(client, year_2025, assessor, on_today):
    live = score_year(2025, today=TODAY)
    snapshots.refresh(2025)
    client.force_login(assessor)
    for code in ("411502", "411503"):
        shown = client.get(f"/scoring/2025/{code}/").context["r"]
        expected = live.region(code)
        assert (shown.total, shown.rank) == (expected.total, expected.rank)
        for number, score in expected.items.items():
            got = shown.items[number]
            assert (got.points, got.computed, got.rule_gap, got.note) == (
                score.points,
                score.computed,
                score.rule_gap,
                score.note,
            )
            if score.auto:
                assert _facts(got.detail) == _facts(score.detail)
        assert [
            (d.department_id, d.name, d.rank, d.points, d.rule_gap, _facts(d.timeliness)) for d in shown.departments
        ] == [
            (d.department_id, d.name, d.rank, d.points, d.rule_gap, _facts(d.timeliness)) for d in expected.departments
        ]
    assert live.region("411503").departments  # the departments' ranking is compared, not empty


@pytest.mark.parametrize("number", [13, 15])
@pytest.mark.parametrize(
    "query", ["", "sort=-number", "sort=class", "sort=-missing", "show=closed_late", "show=pending", "sort=-late"]
)
def test_a_drilldown_page_holds_the_live_rows(client, year_2025, assessor, monkeypatch, on_today, number, query):
    monkeypatch.setattr(views, "ROWS_PER_PAGE", 2)
    live = score_year(2025, today=TODAY)
    score = live.region("411502").items[number]
    if number == 15:
        rows = timeliness_rows(score.detail, live.scope, as_of=live.cutoff)
    else:
        rows = ledger_rows(score.detail, live.scope, as_of=live.cutoff)
    params = dict(part.split("=") for part in query.split("&") if part)
    if params.get("show"):
        rows = [row for row in rows if row.klass == params["show"]]
    rows, _sort = sort_rows(rows, params.get("sort"))
    assert rows or (number == 13 and params.get("show"))  # item 13 lists no late or pending class
    snapshots.refresh(2025)
    client.force_login(assessor)
    shown = []
    for page in range(1, (len(rows) + 1) // 2 + 1):
        response = client.get(f"/scoring/2025/411502/items/{number}/?{query}&page={page}")
        assert response.status_code == 200
        assert response.context["rows"].paginator.count == len(rows)
        shown += list(response.context["rows"])
    assert [dataclasses.asdict(r) for r in shown] == [dataclasses.asdict(r) for r in rows]


def test_a_drilldown_page_reads_only_its_own_cases(client, year_2025, assessor, monkeypatch, on_today):
    """Sorted by number, class or what is missing, the page's rows alone are looked up."""
    monkeypatch.setattr(views, "ROWS_PER_PAGE", 1)
    snapshots.refresh(2025)
    looked_up = []
    real = views.drilldown.case_rows

    def spy(klasses, *args, **kwargs):
        looked_up.append(sorted(klasses))
        return real(klasses, *args, **kwargs)

    monkeypatch.setattr(views.drilldown, "case_rows", spy)
    client.force_login(assessor)
    response = client.get("/scoring/2025/411502/items/15/?page=2")
    assert response.context["rows"].paginator.count >= 3
    assert looked_up == [[response.context["rows"][0].number]]


def test_the_exports_are_the_live_exports(client, year_2025, assessor, region_a, on_today):
    live = score_year(2025, today=TODAY)
    snapshots.refresh(2025)
    client.force_login(assessor)
    assert _cells(client.get("/scoring/2025/scores.xlsx").content) == _cells(scoreboard_xlsx(live, None))
    assert _cells(client.get("/scoring/2025/411502/scoresheet.xlsx").content) == _cells(
        scoresheet_xlsx(live, live.region("411502"))
    )
    score = live.region("411502").items[15]
    rows, _sort = sort_rows(timeliness_rows(score.detail, live.scope, as_of=live.cutoff), "-late")
    assert _cells(client.get("/scoring/2025/411502/items/15/cases.xlsx?sort=-late").content) == _cells(
        item_cases_xlsx(live, region_a, score, rows, views._columns(score))
    )
    assert score.item.kind == Item.Kind.TIMELINESS and len(rows) >= 3


def test_an_export_is_built_once_per_state(client, year_2025, assessor, region_a, monkeypatch, on_today, settings):
    snapshots.refresh(2025)
    client.force_login(assessor)
    first = client.get("/scoring/2025/scores.xlsx").content
    assert list((settings.MEDIA_ROOT / "score-exports").glob("*/*.xlsx"))  # kept as a file: no Redis needed

    def refuse(*args, **kwargs):
        raise AssertionError("built again for the same state")

    monkeypatch.setattr(exports, "scoreboard_xlsx", refuse)
    monkeypatch.setattr(views, "scoreboard_xlsx", refuse)
    assert client.get("/scoring/2025/scores.xlsx").content == first
    monkeypatch.undo()
    services.set_item_points(2025, region_a, 2, by=assessor, points="3", note="")  # an entry: a new state
    live = score_year(2025, today=TODAY)
    client.force_login(assessor)
    again = client.get("/scoring/2025/scores.xlsx").content
    assert _cells(again) == _cells(scoreboard_xlsx(live, None)) != _cells(first)
    snapshots.refresh(2025)  # a new snapshot: the older version's files are removed on the next write
    client.get("/scoring/2025/scores.xlsx")
    assert len(list((settings.MEDIA_ROOT / "score-exports").iterdir())) == 1


def test_while_the_scoreboard_workbook_is_downloaded_the_refresh_builds_the_next_one_ahead(
    client, year_2025, assessor, monkeypatch, on_today
):
    """Seconds of CPU at 100,000 cases (17 s at a million): the refresh (a Celery worker) pays them,
    not a web thread — but only while the workbook is being downloaded: a busy day refreshes the
    snapshot every minute, and a workbook nobody asks for is not built each time."""
    this_year = TODAY.year
    built = []
    real_build = tasks.build_scoreboard_export
    monkeypatch.setattr(tasks, "build_scoreboard_export", lambda year: (built.append(year), real_build(year)))
    assert tasks.refresh_snapshots() == [this_year]  # the beat's round: this year's snapshot
    assert built == []  # nobody has downloaded it: not built ahead
    client.force_login(assessor)
    assert client.get(f"/scoring/{this_year}/scores.xlsx").status_code == 200  # built on the request
    # The next round finds the snapshot changed (a new version): now it builds the workbook ahead.
    monkeypatch.setattr(snapshots, "refresh_due", lambda **kwargs: [snapshots.refresh(this_year).year])
    assert tasks.refresh_snapshots() == [this_year] and built == [this_year]

    def refuse(*args, **kwargs):
        raise AssertionError("the workbook was built on the request")

    monkeypatch.setattr(exports, "scoreboard_xlsx", refuse)
    monkeypatch.setattr(views, "scoreboard_xlsx", refuse)
    kept = client.get(f"/scoring/{this_year}/scores.xlsx")
    assert kept.status_code == 200
    monkeypatch.undo()
    assert _cells(kept.content) == _cells(scoreboard_xlsx(score_year(this_year, today=TODAY), None))
