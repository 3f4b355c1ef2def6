"""Benchmark: one deadline sweep over 200,000 open cases of which 1% are due.

How to run (PostgreSQL; the script creates and migrates its own database, by default
``caseledger_bench`` on the server of DATABASE_URL, and drops it afterwards unless --keep):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/caseledger_bench \\
        .venv/bin/python tests/benchmarks/bench_sweep.py [--cases 200000] [--due-share 0.01] [--keep]

It fills the table with bulk_create (benchmark rows, not the product path: no ledger entries),
runs ANALYZE, then times one sweep (plan + claim + deliver) and a second, idle sweep, and prints
the query plan of the sweep's "overdue" query: an Index Scan on the partial index
``case_open_due_idx``, so the sweep's cost follows the due rows, not the table.
This is not a test; pytest does not collect it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def prepare_database(url: str) -> str:
    """Create the benchmark database (dropping an old one) and return its URL."""
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/") or "caseledger_bench"
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunparse(parts._replace(path=f"/{name}"))


def drop_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    with psycopg.connect(urlunparse(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}"')


def fill(total: int, due_share: float, today: dt.date) -> int:
    from django.db import connection
    from django.utils import timezone

    from cases import workdays
    from cases.models import Case, Category, Channel, Enterprise, Region

    calendar = workdays.current_calendar()
    region = Region.objects.get(code="411502")
    category, channel = Category.objects.get(code="labour"), Channel.objects.get(code="hotline")
    enterprise = Enterprise.objects.create(name="基准测试企业", credit_code="914115683BJ1XG612H")
    # Due: yesterday's working day, so exactly "overdue" fires today. Not due: a month ahead.
    past_due = calendar.workday_back(today - dt.timedelta(days=1), 1)
    later = calendar.add_working_days(today, 20).date
    received = timezone.now() - dt.timedelta(days=10)
    due_every = max(1, round(1 / due_share)) if due_share > 0 else total + 1
    batch, due = [], 0
    for n in range(1, total + 1):
        is_due = n % due_every == 0
        due += is_due
        batch.append(
            Case(
                region=region,
                year=2026,
                serial=n,
                number=f"411502-2026-{n:07d}",
                enterprise=enterprise,
                category=category,
                channel=channel,
                description="基准测试",
                received_at=received,
                due_date=past_due if is_due else later,
                calendar_version="bench",
            )
        )
        if len(batch) == 10000:
            Case.objects.bulk_create(batch)
            batch = []
    if batch:
        Case.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_case")
    return due


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--due-share", type=float, default=0.01)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/caseledger_bench")
    if not url.startswith("postgres"):
        sys.exit("The benchmark needs PostgreSQL: set DATABASE_URL=postgres://…")
    if urlparse(url).path.lstrip("/") in ("", "test", "postgres"):
        url = urlunparse(urlparse(url)._replace(path="/caseledger_bench"))
    url = prepare_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # With DEBUG off the settings refuse a missing key; a benchmark signs nothing that outlives it.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))
    os.environ.pop("REDIS_URL", None)  # tasks in-process: the sweep itself is measured

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from cases import workdays
    from cases.models import local_date
    from notifications import sweep
    from notifications.models import Reminder

    try:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        migrated = time.perf_counter()
        now = timezone.now()
        today = local_date(now)
        due = fill(args.cases, args.due_share, today)
        filled = time.perf_counter()
        print(f"database: {urlparse(url).path.lstrip('/')} on {urlparse(url).hostname}")
        print(
            f"migrate: {migrated - started:.1f} s; "
            f"fill {args.cases:,} open cases ({due:,} due): {filled - migrated:.1f} s"
        )

        calendar = workdays.current_calendar()
        overdue = sweep.due_querysets(today, calendar, sweep.Timers.from_settings())["overdue"]
        print("\nQuery plan of the sweep's overdue query (EXPLAIN ANALYZE):")
        print(overdue.values_list("pk", "due_date").explain(analyze=True))
        soon = sweep.due_querysets(today, calendar, sweep.Timers.from_settings())["due_soon"]
        print("\nQuery plan of the due-soon query:")
        print(soon.values_list("pk", "due_date").explain(analyze=True))

        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            t0 = time.perf_counter()
            run = sweep.run_sweep(now=now)
            t1 = time.perf_counter()
        print(
            f"\nsweep 1: {t1 - t0:.2f} s — planned {run.planned:,}, sent {run.sent:,}, "
            f"errors {len(run.errors)}, {len(queries):,} queries"
        )
        t2 = time.perf_counter()
        idle = sweep.run_sweep(now=now)
        t3 = time.perf_counter()
        print(f"sweep 2 (nothing new): {t3 - t2:.3f} s — planned {idle.planned}, sent {idle.sent}")
        plan_only = time.perf_counter()
        sweep.plan(now, calendar, sweep.Timers.from_settings())
        print(f"planning alone over {args.cases:,} cases: {time.perf_counter() - plan_only:.3f} s")
        assert Reminder.objects.filter(kind="overdue").count() == due
        print(f"reminders in the outbox: {Reminder.objects.count():,} (expected {due:,})")
    finally:
        connection.close()
        if not args.keep:
            drop_database(url)


if __name__ == "__main__":
    main()
