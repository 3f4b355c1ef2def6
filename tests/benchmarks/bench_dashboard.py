"""Dashboard and scoring pages at scale: prints figures, asserts nothing (not collected by pytest).

On a loaded PostgreSQL database (a copy; the script creates four ``bench_*`` users in it and
drafts one notice):

    createdb -h 127.0.0.1 -U postgres -T tpl_1m bench_1m
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_1m .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_1m \\
        .venv/bin/python tests/benchmarks/bench_dashboard.py --views 20
    dropdb -h 127.0.0.1 -U postgres bench_1m

For each page (the dashboard per role, the scoreboard, the scores API, the outlook and trends
pages, drafting one county-month's notice, the scoresheet, the item drill-downs (13, 14, 15; a
second page, a class filter) and the XLSX exports) it requests the page ``--views`` times with the Django
test client, one user, after one warm-up view, and prints p50/p95/max, the number of SQL queries
of a view and the slowest query's EXPLAIN (ANALYZE, BUFFERS). It also times one refresh of the
stored scores (``scoring.snapshots.refresh``), of the stored trends series
(``scoring.trend_snapshots.refresh``) and of the county-month's stored notice figures
(``notices.figures.refresh``, with the plan of the check whether they are current), which is what
the beat task or the embedded timers pay off the request, and prints the load average before and
after. Drafting the notice: its warm-up view finds the figures current (just refreshed), so the
views time reading them; ``--notice-stale`` then times a draft's first view, views while the
figures are stale after a ledger change (it marks one case 督办) and the refresh.

The process is first made what a gunicorn worker is when it serves (``config.warmup``: ``warm_up``
then ``settle``, the garbage collector frozen and tuned); ``--python-gc default`` keeps Python's own.

The figures before a change: the same database copied before migrating, with the older code
(run from that checkout's directory: the working directory goes first on the import path, so
from another checkout its code would be timed instead):
    cd /work/main && BENCH_CODE_ROOT=/work/main DATABASE_URL=… \
        .venv/bin/python /path/to/this/bench_dashboard.py --views 3
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from pathlib import Path

# BENCH_CODE_ROOT=/path/to/another/checkout times that code instead (the figures before a change).
ROOT = Path(os.environ.get("BENCH_CODE_ROOT") or Path(__file__).resolve().parents[2])
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# With DEBUG off the settings refuse a missing key; a benchmark signs nothing that outlives it.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def explain(connection, sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def make_users(year_hint):
    """The bench users (one per role) and the county, department and year they look at."""
    from django.db.models import Count
    from django.utils import timezone

    from cases.models import Case, Department, Region
    from cases.users import create_user

    year = year_hint
    if year is None:
        row = Case.objects.order_by().values("year").annotate(n=Count("id")).order_by("-n").first()
        year = row["year"] if row else timezone.localdate().year
    county = Region.objects.filter(level=Region.Level.COUNTY).order_by("code").first()
    department = (
        Department.objects.filter(region=county, active=True).annotate(n=Count("cases")).order_by("-n", "pk").first()
    )
    password = secrets.token_urlsafe(16)
    users = {
        "city": create_user("bench_city", role="city_office", password=password)[0],
        "county": create_user(f"bench_county_{county.code}", role="county_office", region=county, password=password)[0],
        "department": create_user(
            f"bench_dept_{department.pk}", role="department", department=department, password=password
        )[0],
        "assessor": create_user("bench_assessor", role="assessor", password=password)[0],
    }
    return users, year, county, department


def time_refresh(years) -> None:
    """One refresh of the stored scores per year, as the beat task or the timers run it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    try:
        from scoring import snapshots
    except ImportError:  # a branch without stored scores (the figures before)
        print("no scoring.snapshots here: the pages score the year on each view")
        return
    for year in years:
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            snapshot = snapshots.refresh(year)
        took = time.perf_counter() - started
        print(
            f"snapshot refresh {year}: {took * 1000:.0f} ms, {len(captured)} queries, "
            f"{snapshot.case_count} cases in scope, as of {snapshot.as_of}"
        )
    try:
        from scoring import trend_snapshots
    except ImportError:  # a branch without stored trends: the trends page aggregates on each view
        print("no scoring.trend_snapshots here: the trends page aggregates the year on each view")
        return
    for year in years:
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            stored = trend_snapshots.refresh(year)
        took = time.perf_counter() - started
        print(
            f"trends refresh {year}: {took * 1000:.0f} ms, {len(captured)} queries, "
            f"{stored.case_count} cases received, load average {os.getloadavg()}"
        )


def time_notice_refresh(county, period_key: str, *, explain_plans: bool) -> None:
    """One computation of the county-month's stored notice figures (what the beat task, the
    timers or a queued refresh pay off the request), and the plan of the one query that tells
    whether stored figures are still current."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    try:
        from notices import figures
    except ImportError:  # a branch without stored figures (the figures before)
        print("no notices.figures here: drafting computes the figures on each request")
        return
    from notices import periods

    period = periods.parse(period_key)
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as captured:
        found = figures.refresh(county, period)
    took = time.perf_counter() - started
    result = found.result["figures"]
    print(
        f"notice figures refresh {county.code} {period_key}: {took * 1000:.0f} ms, {len(captured)} queries, "
        f"mark {found.mark}; received {result['received']}, closed {result['closed']}, open {result['open']}, "
        f"overdue {len(result['overdue'])}"
    )
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as captured:
        changed = figures.changed_since(county, period, found.mark or 0)
    took = time.perf_counter() - started
    print(f"notice figures current? {not changed}: {took * 1000:.1f} ms")
    if explain_plans and connection.vendor == "postgresql":
        print(explain(connection, captured.captured_queries[-1]["sql"], None))


def time_notice_stale(county, period_key: str, client, views: int) -> None:
    """``--notice-stale``: what an office meets after the ledger changed (this writes to the
    database: one case of the county marked 督办, which makes its stored figures stale). Times the
    first draft of the period from stored figures (their JSON read and written once), a draft
    view while they are stale (the stored figures shown, marked), and the refresh that a queued
    task or the next timers round runs (recomputing and updating the open draft)."""
    from cases.models import OPEN_STATES, Case
    from cases.services import mark_supervised
    from notices import figures, periods
    from notices.models import Notice, Status

    period = periods.parse(period_key)
    url = f"/notices/regions/{county.code}/draft/"
    Notice.objects.filter(region=county, period=period_key, status=Status.DRAFTED).delete()
    started = time.perf_counter()
    client.post(url, {"period": period_key})
    print(f"notice draft, first view from stored figures: {(time.perf_counter() - started) * 1000:.0f} ms")
    case = Case.objects.filter(region=county, state__in=OPEN_STATES, supervised=False).order_by("pk").first()
    mark_supervised(case)
    print(f"case {case.number} marked 督办: stored figures current? {figures.for_draft(county, period).stale is False}")
    times = []
    for _ in range(views):
        started = time.perf_counter()
        client.post(url, {"period": period_key})
        times.append(time.perf_counter() - started)
    print(
        f"notice draft while stale (stored figures shown, marked): p50 {percentile(times, 0.5) * 1000:.1f} ms, "
        f"p95 {percentile(times, 0.95) * 1000:.1f} ms"
    )
    started = time.perf_counter()
    computed = figures.refresh_one(county.pk, period_key)
    took = time.perf_counter() - started
    notice = Notice.objects.get(region=county, period=period_key, status=Status.DRAFTED)
    print(
        f"queued refresh (recompute, update the draft): {took * 1000:.0f} ms, computed {computed}; "
        f"draft current again: {figures.is_current(notice)}"
    )


def run_pages(pages, clients, views: int):
    """(name, p50, p95, max, queries, status, slowest query) per page."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    results = []
    for name, who, method, url, data in pages:
        call = getattr(clients[who], method)
        response = call(url, data)  # warm-up
        times: list[float] = []
        queries: list[dict] = []
        for _ in range(views):
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as captured:
                response = call(url, data)
            times.append(time.perf_counter() - started)
            queries = list(captured.captured_queries)
        worst = max(queries, key=lambda q: float(q["time"])) if queries else None
        results.append(
            (
                name,
                percentile(times, 0.5),
                percentile(times, 0.95),
                max(times),
                len(queries),
                response.status_code,
                worst,
            )
        )
        row = results[-1]
        print(
            f"{name:40} {row[1] * 1000:8.1f} {row[2] * 1000:8.1f} {row[3] * 1000:8.1f} {row[4]:8d} {row[5]:6d}",
            flush=True,
        )
    return results


def print_plans(results) -> None:
    from django.db import connection

    print()
    print("The slowest query of each page's last view, explained (its SQL as Django logged it):")
    for name, *_figures, worst in results:
        if worst is None:
            continue
        sql = worst["sql"]
        print(f"\n== {name}: {float(worst['time']) * 1000:.1f} ms\n{sql[:600]}")
        if connection.vendor == "postgresql" and sql.lstrip().upper().startswith(("SELECT", "(SELECT", "WITH")):
            try:
                # The logged SQL has its parameters inlined (last_executed_query): explain it as is.
                print(explain(connection, sql, None))
            except Exception as error:  # noqa: BLE001 - a plan we cannot show is reported, not fatal
                print(f"(no plan: {error})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--views", type=int, default=20, help="views per page (after one warm-up)")
    parser.add_argument("--year", type=int, default=None, help="the scored year; default: the year with most cases")
    parser.add_argument("--no-explain", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated parts of page names to run")
    parser.add_argument(
        "--notice-stale",
        action="store_true",
        help="after the pages: time drafting with stale notice figures and their refresh (marks one case 督办)",
    )
    parser.add_argument(
        "--python-gc",
        choices=["served", "default"],
        default="served",
        help="served: the garbage collector as a gunicorn worker sets it (config/warmup.py settle); default: Python's",
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.utils import timezone

    setup_test_environment()  # the test client's host and template signals; the database is the one named
    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; load average {os.getloadavg()}")
    users, year, county, department = make_users(args.year)
    if args.python_gc == "served":  # as deploy/gunicorn.conf.py's post_worker_init leaves a worker
        from config.warmup import settle, warm_up

        warm_up()
        settle()
    this_year = timezone.localdate().year
    print(
        f"year scored: {year} (this year {this_year}); county {county.code} {county.name}; department {department.name}"
    )
    time_refresh(sorted({year, this_year}))

    # A month of the year with no notice issued for the county (drafting one issued is refused).
    from notices.models import Notice

    taken = set(Notice.objects.filter(region=county, period__startswith=f"{year}-").values_list("period", flat=True))
    free = [f"{year}-{month:02d}" for month in range(12, 0, -1) if f"{year}-{month:02d}" not in taken]
    period = free[0] if free else f"{year}-12"
    if any(part in "notice draft" for part in args.only.split(",") if part.strip()) or not args.only:
        time_notice_refresh(county, period, explain_plans=not args.no_explain)
    pages = [
        ("dashboard city office", "city", "get", "/", {}),
        ("dashboard county office", "county", "get", "/", {}),
        ("dashboard department", "department", "get", "/", {}),
        ("dashboard assessor", "assessor", "get", "/", {}),
        (f"scoreboard {year}", "city", "get", f"/scoring/{year}/", {}),
        (f"scoreboard {this_year}", "assessor", "get", f"/scoring/{this_year}/", {}),
        (f"scores API {year}", "city", "get", f"/api/v1/scores/{year}/", {}),
        (f"scores API {year} one county", "county", "get", f"/api/v1/scores/{year}/?region={county.code}", {}),
        (f"scores API {this_year}", "assessor", "get", f"/api/v1/scores/{this_year}/", {}),
        (f"scoresheet {year}", "assessor", "get", f"/scoring/{year}/{county.code}/", {}),
        (f"item 13 drill-down {year}", "assessor", "get", f"/scoring/{year}/{county.code}/items/13/", {}),
        (f"item 14 drill-down {year}", "assessor", "get", f"/scoring/{year}/{county.code}/items/14/", {}),
        (f"item 15 drill-down {year}", "assessor", "get", f"/scoring/{year}/{county.code}/items/15/", {}),
        (f"item 15 page 2 {year}", "assessor", "get", f"/scoring/{year}/{county.code}/items/15/?page=2", {}),
        (f"item 15 open late {year}", "assessor", "get", f"/scoring/{year}/{county.code}/items/15/?show=open_late", {}),
        (f"scoreboard XLSX {year}", "assessor", "get", f"/scoring/{year}/scores.xlsx", {}),
        (f"scoresheet XLSX {year}", "assessor", "get", f"/scoring/{year}/{county.code}/scoresheet.xlsx", {}),
        (f"item 15 cases XLSX {year}", "assessor", "get", f"/scoring/{year}/{county.code}/items/15/cases.xlsx", {}),
        (f"outlook {this_year}", "county", "get", f"/scoring/{this_year}/{county.code}/outlook/", {}),
        (f"outlook {year}", "county", "get", f"/scoring/{year}/{county.code}/outlook/", {}),
        (f"trends {year}", "city", "get", f"/scoring/trends/{year}/", {}),
        (f"trends {year} one county", "county", "get", f"/scoring/trends/{year}/", {}),
        (f"trends {year} XLSX league", "county", "get", f"/scoring/trends/{year}/league.xlsx", {}),
        (f"notice draft {period}", "county", "post", f"/notices/regions/{county.code}/draft/", {"period": period}),
    ]
    only = [part.strip() for part in args.only.split(",") if part.strip()]
    if only:
        pages = [page for page in pages if any(part in page[0] for part in only)]
    clients = {}
    for key, user in users.items():
        clients[key] = Client()
        clients[key].force_login(user)
    print()
    print(f"{'page':40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8} {'status':>6}")
    results = run_pages(pages, clients, args.views)
    if args.notice_stale:
        time_notice_stale(county, period, clients["county"], args.views)
    if not args.no_explain:
        print_plans(results)
    print(f"\nload average {os.getloadavg()}")


if __name__ == "__main__":
    main()
