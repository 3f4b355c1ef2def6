"""Ledger append benchmark: the time and queries of one ``ledger.services.append`` by chain length.
Prints figures, asserts nothing (not collected by pytest).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_append .venv/bin/python tests/benchmarks/bench_append.py
    DATABASE_URL=sqlite:////tmp/bench_append.sqlite3 .venv/bin/python tests/benchmarks/bench_append.py

The database is migrated (created on SQLite; on PostgreSQL create it first: ``createdb``). For each
chain length (``--lengths``, default 5 50 500) one case is created through ``cases.services`` and
grown to that length with appends, then ``--samples`` appends are timed one transaction each, as a
service makes them (the case row locked, the entry appended, committed). Printed per length: p50
and p95 of an append (ms, with the lock and the commit, and of ``append`` alone), the statements one
append issues (BEGIN and COMMIT included, the case row lock not) and their SQL (the last sample),
and on PostgreSQL the EXPLAIN (ANALYZE, BUFFERS) of each SELECT it issues (after ANALYZE).
``append`` is O(1) when the time and the queries are flat across lengths.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def new_case(serial: int):
    from cases import services
    from cases.models import Category, Channel, Region
    from cases.users import create_user

    region = Region.objects.get(code="411502")
    user, _created = create_user(
        "bench_append", password=secrets.token_urlsafe(16), role="county_office", region=region
    )
    return services.create_case(
        by=user,
        region=region,
        enterprise_name=f"信阳基准企业{serial}有限公司",
        credit_code_value="914115683BJ1XG612H",
        category=Category.objects.get(code="labour"),
        channel=Channel.objects.get(code="hotline"),
        description="季节性用工缺口约80人",
        received_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        now=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    )


def one_append(case_pk: int, at: dt.datetime) -> float:
    """What a service does around an append: lock the case row, append, commit. Returns the time
    of ``append`` alone (ms)."""
    from django.db import transaction

    from cases.models import Case
    from ledger import services as ledger

    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case_pk)
        started = time.perf_counter()
        ledger.append(case, action="supervise", source="system", occurred_at=at, payload={"note": "督办"})
        return (time.perf_counter() - started) * 1000


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join("      " + row[0] for row in cursor.fetchall())


def run(length: int, samples: int, serial: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ledger.models import LedgerEntry

    case = new_case(serial)
    at = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
    grown = time.perf_counter()
    while LedgerEntry.objects.filter(case=case).count() < length:
        at += dt.timedelta(minutes=1)
        one_append(case.pk, at)
    grown = time.perf_counter() - grown
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # the planner's statistics, as autovacuum keeps them
            cursor.execute("ANALYZE ledger_ledgerentry, ledger_ledgerhead")
    timings, alone, queries = [], [], []
    for _ in range(samples):
        at += dt.timedelta(minutes=1)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            alone.append(one_append(case.pk, at))
            timings.append((time.perf_counter() - started) * 1000)
        # the append's own queries, not the service's case row lock
        own = [q["sql"] for q in captured.captured_queries if 'FROM "cases_case"' not in q["sql"]]
        queries.append(own)
    print(
        f"chain length {length:>4} to {length + samples:>4}: append p50 {percentile(timings, 0.5):6.2f} ms, "
        f"p95 {percentile(timings, 0.95):6.2f} ms (append alone, without lock and commit: p50 "
        f"{percentile(alone, 0.5):6.2f} ms, p95 {percentile(alone, 0.95):6.2f} ms), {len(queries[-1])} statements "
        f"(min {min(map(len, queries))}, max {max(map(len, queries))}); grown in {grown:.1f} s"
    )
    for sql in queries[-1]:
        print(f"    {sql[:220]}")
        if connection.vendor == "postgresql" and sql.lstrip().upper().startswith("SELECT"):
            print(explain(sql))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lengths", type=int, nargs="+", default=[5, 50, 500])
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    print(f"{connection.vendor}; {args.samples} appends timed at each length")
    for serial, length in enumerate(args.lengths, start=int(time.time())):
        run(length, args.samples, serial)


if __name__ == "__main__":
    main()
