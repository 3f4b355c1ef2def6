"""Search benchmark: prints figures, asserts nothing (not collected by pytest: no test_ prefix).

SQLite, 50,000 cases (a fresh file):
    DATABASE_URL=sqlite:////tmp/bench_search.sqlite3 .venv/bin/python tests/benchmarks/bench_search.py --cases 50000
PostgreSQL, 1,000,000 cases (a database of its own, dropped afterwards):
    createdb -h 127.0.0.1 -U postgres bench_search
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_search .venv/bin/python tests/benchmarks/bench_search.py --cases 1000000
    dropdb -h 127.0.0.1 -U postgres bench_search

An already loaded database (a copy of the 1,000,000-case template) is used as it is:
    createdb -h 127.0.0.1 -U postgres -T tpl_1m bench_search_1m
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_search_1m .venv/bin/python tests/benchmarks/bench_search.py --cases 1000000

It migrates the database, loads a year with ``generate_load`` (which writes the search rows in
bulk) if it holds fewer cases, then times what ``GET /api/v1/cases/?q=WORD`` does — the scoped
search, its count and its first page of 50 rows, ranked — for one-word and two-word queries from
the load's vocabulary, as the city office (every county) and as one county office, and prints
p50/p95/max, the queries each search ran, and the plans (EXPLAIN ANALYZE, BUFFERS) of a city-wide
search for the commonest word. Last, what indexing adds to a case write: creating, routing and
resolving cases through the services with the index receiver connected and disconnected
(``--writes 0`` skips it; it adds cases and users to the database).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

WORDS = [
    "增容",
    "变压器",
    "停电",
    "用地",
    "稳岗补贴",
    "招工",
    "留抵退税",
    "加计扣除",
    "续贷",
    "银企对接",
    "担保",
    "营业执照",
    "施工许可",
    "消防验收",
    "环评",
    "排污许可",
    "产销对接",
    "专精特新",
    "技改资金",
    "企业减负",
    "取水许可",
    "合成企业000123",
]


TWO_WORDS = [
    "用电 增容",
    "变压器 增容",
    "频繁 停电",
    "稳岗补贴 申领",
    "留抵退税 退税",
    "续贷 担保",
    "营业执照 变更",
    "施工许可 厂房",
    "环评 审批",
    "专精特新 认定",
    "技改资金 拨付",
    "合成企业 000123",
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def load(cases: int, year: int) -> None:
    from django.core.management import call_command

    from cases.models import Case

    call_command("migrate", verbosity=0)
    have = Case.objects.count()
    if have < cases:
        started = time.monotonic()
        call_command("generate_load", cases=cases - have, year=year, seed=7, stdout=open(os.devnull, "w"))
        print(f"generate_load {cases - have} cases (with their search rows): {time.monotonic() - started:.1f} s")
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("INSERT INTO case_search_fts(case_search_fts) VALUES ('optimize')")
            cursor.execute("ANALYZE")
        else:
            cursor.execute("ANALYZE case_search_document")


def time_searches(user, label: str, rounds: int, words: list[str]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cases.models import Case
    from cases.search.query import scope_region, search

    timings, hits, queries = [], {}, []
    for _ in range(rounds):
        for word in words:
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                found = search(Case.objects.for_user(user), word, region_id=scope_region(user))  # as the API does
                count = found.count()
                page = list(found.select_related("region", "enterprise", "category", "channel", "department")[:50])
                timings.append((time.perf_counter() - started) * 1000)
            queries.append(len(captured.captured_queries))
            capped = "+" if getattr(found, "search_capped", False) else ""
            hits[word] = (f"{count}{capped}", page[0].number if page else "—")
    print(
        f"{label}: {len(timings)} searches, p50 {percentile(timings, 0.5):.1f} ms, "
        f"p95 {percentile(timings, 0.95):.1f} ms, max {max(timings):.1f} ms; "
        f"queries per search {min(queries)}–{max(queries)}"
    )
    print("   matches (ranked; + more not ranked): " + ", ".join(f"{w} {c}" for w, (c, _n) in hits.items()))


def explain(user, word: str) -> None:
    """The plans of every query one search runs (the window probes, the ranking, the page rows)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cases.models import Case
    from cases.search.query import scope_region, search

    with CaptureQueriesContext(connection) as captured:
        found = search(Case.objects.for_user(user), word, region_id=scope_region(user))
        found.count()
        list(found.select_related("region", "enterprise", "category", "channel", "department")[:50])
    with connection.cursor() as cursor:
        for number, query in enumerate(captured.captured_queries, 1):
            sql = query["sql"]
            print(
                f"-- query {number} ({float(query['time']) * 1000:.1f} ms): {sql[:300]}{' …' if len(sql) > 300 else ''}"
            )
            if connection.vendor == "postgresql":
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
            for row in cursor.fetchall():
                print("   " + " ".join(str(part) for part in row))


def time_writes(n: int) -> None:
    """Create, route and resolve n cases through the services, with and without the index."""
    from django.db.models.signals import post_save

    from cases.search import index
    from tests.benchmarks.write_cost import time_case_writes

    receivers = [(post_save, index.case_saved, "case_search_index_case")]
    with_index, without = time_case_writes(n, receivers, prefix="bench_search")
    print(
        f"a case written (create + assign + resolve, 3 transactions), median of {2 * n}: "
        f"{with_index:.1f} ms with the index, {without:.1f} ms without: +{(with_index / without - 1) * 100:.1f} %"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--writes", type=int, default=40, help="cases written to time indexing (0: none)")
    parser.add_argument("--explain", default="用地", help="the word whose city-wide search is explained ('' for none)")
    args = parser.parse_args()
    import django

    django.setup()
    from django.conf import settings

    settings.MEDIA_ROOT = "/tmp/bench_search_media"
    load(args.cases, args.year)
    from cases.models import Case, Region
    from cases.users import create_user

    city = create_user("bench_search_city", role="city_office", password="x-bench-1")[0]
    county = create_user(
        "bench_search_county", role="county_office", region=Region.objects.get(code="411502"), password="x-bench-1"
    )[0]
    from django.db import connection

    print(f"{connection.vendor}, {Case.objects.count()} cases; load average {os.getloadavg()}")
    time_searches(city, "warm-up, not counted (jieba, caches)", 1, WORDS)
    for label, user in (("city office (all counties)", city), ("county office 411502", county)):
        time_searches(user, f"{label}, one word", args.rounds, WORDS)
        time_searches(user, f"{label}, two words", args.rounds, TWO_WORDS)
    print(f"load average {os.getloadavg()}")
    if args.explain:
        print(f"plans of a city-wide search for {args.explain}:")
        explain(city, args.explain)
    if args.writes:
        time_writes(args.writes)


if __name__ == "__main__":
    main()
