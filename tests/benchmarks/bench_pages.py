"""Page benchmark at a million cases: the 台帐, the API case list, a case page and the XLSX export.

Prints figures, asserts nothing (not collected by pytest: no test_ prefix). One command, on a
database of its own holding the load (a copy of the ready-made one, migrated on this branch):

    createdb -h 127.0.0.1 -U postgres -T tpl_1m bench_pages_1m
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_pages_1m
    .venv/bin/python manage.py migrate
    .venv/bin/python tests/benchmarks/bench_pages.py            # --rounds 20 --export-rows 100000
    dropdb -h 127.0.0.1 -U postgres bench_pages_1m

An empty database is loaded first with ``--load 1000000`` (``generate_load``, year 2025, seed 7;
about half an hour for a million cases).

It logs in (Django test client, one user, no server) as the city office (every county), the
county office of the county with the most cases and the user of the department with the most
cases (bench users ``bench_pages_*``, created if missing), asks each page ``--rounds`` times and
prints per page p50/p95/max in ms, the number of queries and the slowest query's time; then the
EXPLAIN (ANALYZE, BUFFERS) of the slowest query of each page (``--plans all``; ``--plans slow``
only for pages whose p95 is over the 100 ms target, ``--plans none``). The pages:

* 台帐 first page: unfiltered, with each single filter of its form (region, department, state,
  category, received from / to, overdue yes / no, every work queue), sorted by receipt both ways,
  a page far past the count's cap, and ``q=增容`` (search is another benchmark's subject, listed
  here so the page's own cost around it shows);
* ``GET /api/v1/cases/`` with the same filters;
* a case page (a case in the user's scope; a different one each round);
* the XLSX export of ``--export-rows`` (100,000) cases as the city office: the newest that many
  cases, by a received-from day; run in a child process of its own so that its peak RSS
  (VmHWM) is the export's, with the time, rows/s and file size.

The process is first made what a gunicorn worker is when it serves (``config.warmup``: ``warm_up``
then ``settle``, the garbage collector frozen and tuned); ``--python-gc default`` keeps Python's own.

Timed rounds run without capturing queries (nothing is added to what a request costs); one more
request per page, captured, gives the query count and the slowest query.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

TARGET_MS = 100.0
SEARCH_WORD = "增容"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def load(cases: int) -> None:
    from django.core.management import call_command

    from cases.models import Case

    have = Case.objects.count()
    if have >= cases:
        return
    started = time.monotonic()
    call_command("generate_load", cases=cases - have, year=2025, seed=7, stdout=open(os.devnull, "w"))
    print(f"generate_load {cases - have} cases: {time.monotonic() - started:.1f} s")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def bench_users():
    """City office, the busiest county's office and the busiest department's user."""
    from django.db.models import Count

    from cases.models import Case, Department, Region
    from cases.users import create_user

    busiest_region = (
        Case.objects.values("region").annotate(n=Count("id")).order_by("-n").values_list("region", flat=True).first()
    )
    department_id = (
        Case.objects.exclude(department=None)
        .values("department")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("department", flat=True)
        .first()
    )
    region = Region.objects.get(pk=busiest_region)
    department = Department.objects.get(pk=department_id)
    password = "x-bench-pages-1"
    city = create_user("bench_pages_city", role="city_office", password=password)[0]
    county = create_user("bench_pages_county", role="county_office", region=region, password=password)[0]
    dept = create_user("bench_pages_dept", role="department", department=department, password=password)[0]
    return [
        ("city office", city, None),
        (f"county office {region.code} {region.name}", county, region),
        (f"department {department.pk} {department.name}", dept, department),
    ]


def filters_for(user, region, department, *, api: bool) -> list[tuple[str, dict]]:
    """(label, query) for the unfiltered page and each single filter, in the user's scope."""
    from cases.access import departments_for_user, regions_for_user
    from cases.models import Category, State
    from cases.queues import Queue

    some_region = region or regions_for_user(user).filter(level="county").order_by("code").first()
    some_department = department or departments_for_user(user).filter(region=some_region).order_by("pk").first()
    category = Category.objects.order_by("position", "code").first()
    pages: list[tuple[str, dict]] = [("unfiltered", {})]
    pages.append(("region", {"region": some_region.code if api else some_region.pk}))
    pages.append(("department", {"department": some_department.pk}))
    for state in (State.RECEIVED, State.ASSIGNED, State.RESOLVED):
        pages.append((f"state={state}", {"state": state}))
    if not api:
        pages.append(("category", {"category": category.pk}))
    pages.append(("received_from", {"received_from": "2025-11-01"}))
    pages.append(("received_to", {"received_to": "2025-02-28"}))
    pages.append(("received month", {"received_from": "2025-06-01", "received_to": "2025-06-30"}))
    yes, no = ("true", "false") if api else ("yes", "no")
    pages.append(("overdue yes", {"overdue": yes}))
    pages.append(("overdue no", {"overdue": no}))
    if not api:
        for queue in Queue:
            pages.append((f"queue={queue.value}", {"queue": queue.value}))
        pages.append(("sort received_at", {"sort": "received_at"}))
        pages.append(("sort -received_at", {"sort": "-received_at"}))
        pages.append(("sort due_date", {"sort": "due_date"}))
        pages.append(("page 300 (past the cap)", {"page": 300}))
    else:
        pages.append(("page 300 (past the cap)", {"page": 300}))
    pages.append((f"q={SEARCH_WORD}", {"q": SEARCH_WORD}))
    return pages


class Page:
    def __init__(self, label: str, path: str, params: dict | None = None, paths: list[str] | None = None):
        self.label, self.path, self.params = label, path, params or {}
        self.paths = paths  # a different path each round (case pages)
        self.timings: list[float] = []
        self.queries = 0
        self.slowest: tuple[float, str] = (0.0, "")
        self.status = 0


def run_pages(client, pages: list[Page], rounds: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for page in pages:
        for round_ in range(rounds):
            path = page.paths[round_ % len(page.paths)] if page.paths else page.path
            started = time.perf_counter()
            response = client.get(path, page.params)
            if getattr(response, "streaming", False):
                b"".join(response.streaming_content)
            else:
                response.content  # noqa: B018 (rendered already; read as a client would)
            page.timings.append((time.perf_counter() - started) * 1000)
            page.status = response.status_code
        with CaptureQueriesContext(connection) as captured:
            client.get(page.paths[0] if page.paths else page.path, page.params)
        page.queries = len(captured.captured_queries)
        slowest = max(captured.captured_queries, key=lambda q: float(q["time"]), default=None)
        if slowest:
            page.slowest = (float(slowest["time"]) * 1000, slowest["sql"])


def explain(sql: str) -> str:
    from django.db import connection

    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            return "\n".join(str(row) for row in cursor.fetchall())
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def report(title: str, pages: list[Page], plans: str) -> list[Page]:
    print(f"\n== {title}")
    print(f"   {'page':34} {'status':>6} {'p50':>8} {'p95':>8} {'max':>8} {'queries':>7} {'slowest q':>9}")
    for page in pages:
        p50, p95 = percentile(page.timings, 0.5), percentile(page.timings, 0.95)
        flag = "" if p95 <= TARGET_MS else "  > target"
        print(
            f"   {page.label:34} {page.status:>6} {p50:8.1f} {p95:8.1f} {max(page.timings):8.1f} "
            f"{page.queries:>7} {page.slowest[0]:9.1f}{flag}"
        )
    shown = [p for p in pages if plans == "all" or (plans == "slow" and percentile(p.timings, 0.95) > TARGET_MS)]
    for page in shown:
        if page.slowest[1]:
            print(f"\n-- {title} / {page.label}: slowest query ({page.slowest[0]:.1f} ms)\n{page.slowest[1]}\n")
            print(explain(page.slowest[1]))
    return pages


def peak_rss_kb() -> int:
    """This process's peak resident set (VmHWM; ``ru_maxrss`` on Linux keeps the parent's peak
    across exec, so a child started from a big benchmark process would report that instead)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def export_child(received_from: str, rows: int) -> None:
    """In a process of its own: export as the city office and print one JSON line."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench_pages_city"))
    baseline = peak_rss_kb()
    started = time.perf_counter()
    response = client.get(reverse("cases:ledger_export_xlsx"), {"received_from": received_from})
    size = sum(len(chunk) for chunk in response.streaming_content)
    seconds = time.perf_counter() - started
    peak = peak_rss_kb()
    print(
        json.dumps(
            {
                "status": response.status_code,
                "seconds": seconds,
                "bytes": size,
                "rss_before_kb": baseline,
                "peak_kb": peak,
            }
        )
    )


def run_export(rows: int) -> None:
    from django.db import connection

    from cases.models import local_date

    with connection.cursor() as cursor:
        cursor.execute("SELECT received_at FROM cases_case ORDER BY received_at DESC OFFSET %s LIMIT 1", [rows - 1])
        found = cursor.fetchone()
    if not found:
        print("\n== XLSX export: fewer cases than asked for; skipped")
        return
    day = local_date(found[0])
    from cases.models import Case, local_midnight

    exported = Case.objects.filter(received_at__gte=local_midnight(day)).count()
    env = {**os.environ}
    command = [sys.executable, __file__, "--export-child", day.isoformat(), "--export-rows", str(rows)]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if output.returncode != 0:
        print("\n== XLSX export failed:\n" + output.stderr[-3000:])
        return
    result = json.loads(output.stdout.strip().splitlines()[-1])
    print(f"\n== XLSX export, city office, received_from={day} ({exported} rows)")
    print(
        f"   status {result['status']}, {result['seconds']:.1f} s, {exported / result['seconds']:.0f} rows/s, "
        f"{result['bytes'] / 1e6:.1f} MB file, peak RSS {result['peak_kb'] / 1024:.0f} MB "
        f"(process before the export: {result['rss_before_kb'] / 1024:.0f} MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--load", type=int, default=0, help="load this many cases first if the database has fewer")
    parser.add_argument("--plans", choices=["all", "slow", "none"], default="all")
    parser.add_argument("--export-rows", type=int, default=100_000)
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument("--only", default="", help="run only the roles whose label contains this")
    parser.add_argument("--pages", default="", help="run only the pages whose label contains one of these (a,b)")
    parser.add_argument("--export-child", help=argparse.SUPPRESS)
    parser.add_argument(
        "--python-gc",
        choices=["served", "default"],
        default="served",
        help="served: the garbage collector as a gunicorn worker sets it (config/warmup.py settle); default: Python's",
    )
    args = parser.parse_args()
    if args.export_child:
        export_child(args.export_child, args.export_rows)
        return
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from cases.models import Case

    call_command("migrate", verbosity=0)
    if args.python_gc == "served":  # as deploy/gunicorn.conf.py's post_worker_init leaves a worker
        from config.warmup import settle, warm_up

        warm_up()
        settle()
    if args.load:
        load(args.load)
    users = bench_users()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'cases_case'")
        estimate = cursor.fetchone()[0]
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    print(f"PostgreSQL {version}, ≈{estimate} cases (planner estimate), {args.rounds} rounds a page")
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    ledger_url, api_url = reverse("cases:ledger"), "/api/v1/cases/"
    for label, user, _scope_object in users:
        if args.only and args.only not in label:
            continue
        region = _scope_object if label.startswith("county") else None
        department = _scope_object if label.startswith("department") else None
        client = Client()
        client.force_login(user)
        sample = list(Case.objects.for_user(user).order_by("-received_at").values_list("pk", flat=True)[:2000:100])
        pages = [
            Page(f"台帐 {name}", ledger_url, query) for name, query in filters_for(user, region, department, api=False)
        ]
        pages += [
            Page(f"API {name}", api_url, query) for name, query in filters_for(user, region, department, api=True)
        ]
        pages.append(Page("case page", "", paths=[reverse("cases:detail", args=[pk]) for pk in sample]))
        if args.pages:
            pages = [page for page in pages if any(part in page.label for part in args.pages.split(","))]
        run_pages(client, pages, args.rounds)
        report(label, pages, args.plans)
    print(f"\nload average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    if not args.no_export:
        run_export(args.export_rows)


if __name__ == "__main__":
    main()
