"""What each request of the load test costs alone: wall time, Python CPU, queries and SQL time.

Runs every request that ``tests/benchmarks/locustfile.py`` makes, through the Django test client
(the whole middleware stack and context processors, no network), as a user of the role that makes
it, on the database prepared by ``load_setup.py``. Prints per request: median and max wall time of
``--repeat`` runs (after one warm-up), the Python process's CPU time, the number of queries and the
time PostgreSQL took for them. A page whose queries are few but whose time is long is CPU in Python
(templates, serialisation); one with many queries pays round trips. Under load, the sum of these
per second of traffic is what the two cores must do.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/caseledger_load \\
        .venv/bin/python tests/benchmarks/bench_requests.py --users /tmp/caseledger_load_users.json

Writes happen (交办, 签收, a notice draft) as in the load test: run it on the load database only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", default="/tmp/caseledger_load_users.json")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", default="", help="run only requests whose name contains this")
    parser.add_argument("--profile", action="store_true", help="with --only: cProfile of 20 runs, by own time")
    parser.add_argument("--queries", action="store_true", help="print each request's SQL")
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    load = json.loads(Path(args.users).read_text())
    year = load["year"]
    first = {}
    for account in load["users"]:
        first.setdefault(account["role"], account)
    office, department = first["county_office"], first["department"]
    User = get_user_model()

    def client_for(account):
        client = Client()
        client.force_login(User.objects.get(username=account["username"]))
        return client

    clients = {role: client_for(account) for role, account in first.items()}
    api = {role: {"HTTP_AUTHORIZATION": f"Token {account['token']}"} for role, account in first.items()}
    anonymous = Client()

    def api_ids(role, unacknowledged=False, **params):
        response = anonymous.get("/api/v1/cases/", {"page_size": 100, **params}, **api[role])
        rows = response.json().get("results", [])
        return [row["id"] for row in rows if not (unacknowledged and row.get("acknowledged_at"))]

    case_ids = api_ids("county_office")
    received = iter(api_ids("county_office", state="received", region=office["region"]))
    departments = anonymous.get("/api/v1/departments/", **api["county_office"]).json()
    departments = departments.get("results", departments) if isinstance(departments, dict) else departments
    own = [d["id"] for d in departments if d.get("region") in (office["region"], office["region_id"])]
    assigned = iter(api_ids("department", True, state="assigned", department=department["department_id"]))
    start = dt.date(year, 3, 1)
    export_range = {"received_from": start.isoformat(), "received_to": (start + dt.timedelta(days=13)).isoformat()}
    month = iter(range(1, 13))

    def csrf_client(role):
        client = Client(enforce_csrf_checks=False)
        client.cookies = clients[role].cookies
        return client

    requests = [
        ("/healthz (floor)", lambda: anonymous.get("/healthz")),
        ("login page", lambda: anonymous.get("/login/")),
        (
            "API case list (page_size=100)",
            lambda: anonymous.get("/api/v1/cases/", {"page_size": 100}, **api["county_office"]),
        ),
        ("API case list (page 2)", lambda: anonymous.get("/api/v1/cases/", {"page": 2}, **api["county_office"])),
        ("API case list (dept, page 1)", lambda: anonymous.get("/api/v1/cases/", {"page": 1}, **api["department"])),
        (
            "API case list (received, region)",
            lambda: anonymous.get(
                "/api/v1/cases/",
                {"page_size": 100, "state": "received", "region": office["region"]},
                **api["county_office"],
            ),
        ),
        ("API departments", lambda: anonymous.get("/api/v1/departments/", **api["county_office"])),
        ("case page (office)", lambda: clients["county_office"].get(f"/cases/{case_ids[0]}/")),
        ("台帐 first page (office)", lambda: clients["county_office"].get("/ledger/")),
        ("台帐 first page (department)", lambda: clients["department"].get("/ledger/")),
        ("台帐 filtered (state=assigned)", lambda: clients["county_office"].get("/ledger/", {"state": "assigned"})),
        (
            "export CSV (two weeks, office)",
            lambda: _drain(clients["county_office"].get("/ledger/export.csv", export_range)),
        ),
        ("export CSV (two weeks, dept)", lambda: _drain(clients["department"].get("/ledger/export.csv", export_range))),
        (
            "route (交办)",
            lambda: anonymous.post(
                f"/api/v1/cases/{next(received)}/assign/",
                {"department": own[0]},
                content_type="application/json",
                **api["county_office"],
            ),
        ),
        (
            "sign for (签收)",
            lambda: anonymous.post(f"/api/v1/cases/{next(assigned)}/acknowledge/", **api["department"]),
        ),
        (
            "draft notice (one county-month)",
            lambda: csrf_client("county_office").post(
                f"/notices/regions/{office['region']}/draft/", {"period": f"{year}-{next(month):02d}"}
            ),
        ),
        ("scoreboard", lambda: clients["assessor"].get(f"/scoring/{year}/")),
        ("scoresheet", lambda: clients["assessor"].get(f"/scoring/{year}/{office['region']}/")),
        ("item 15 drill-down", lambda: clients["assessor"].get(f"/scoring/{year}/{office['region']}/items/15/")),
        ("scoreboard XLSX", lambda: _drain(clients["assessor"].get(f"/scoring/{year}/scores.xlsx"))),
    ]

    print(f"{connection.vendor}, {len(case_ids)} case ids seen; {args.repeat} runs after one warm-up")
    print(f"{'request':36} {'status':>6} {'p50 ms':>7} {'max ms':>7} {'cpu ms':>7} {'queries':>7} {'sql ms':>7}")
    for name, call in requests:
        if args.only and args.only not in name:
            continue
        try:
            call()  # warm-up: caches, the connection, the templates
            walls, cpus = [], []
            for _ in range(args.repeat):
                wall, cpu = time.perf_counter(), time.process_time()
                response = call()
                walls.append((time.perf_counter() - wall) * 1000)
                cpus.append((time.process_time() - cpu) * 1000)
            with CaptureQueriesContext(connection) as captured:
                response = call()
        except StopIteration:
            print(f"{name:36} (no case left to act on)")
            continue
        sql_ms = sum(float(query["time"]) for query in captured.captured_queries) * 1000
        if args.queries:
            for query in captured.captured_queries:
                print(f"    {float(query['time']) * 1000:6.1f} ms  {query['sql'][:300]}")
        if args.profile:
            _profile(call)
        print(
            f"{name:36} {response.status_code:>6} {statistics.median(walls):>7.1f} {max(walls):>7.1f} "
            f"{statistics.median(cpus):>7.1f} {len(captured.captured_queries):>7} {sql_ms:>7.1f}"
        )
    print("A form login (PBKDF2, by design ~0.3–1 s of CPU) is not in the table; the load test logs in once per user.")


def _profile(call, runs: int = 20):
    """cProfile of ``runs`` calls: the functions by their own time, then by cumulative time."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        call()
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)


def _drain(response):
    if getattr(response, "streaming", False):
        for _chunk in response.streaming_content:
            pass
    return response


if __name__ == "__main__":
    main()
