"""Scoring benchmark: prints figures, asserts nothing (not collected by pytest: no test_ prefix).

SQLite, 50,000 cases (a fresh file):
    DATABASE_URL=sqlite:////tmp/bench50k.sqlite3 .venv/bin/python tests/benchmarks/bench_scoring.py --cases 50000
PostgreSQL, 1,000,000 cases (a database of its own, dropped afterwards):
    createdb -h 127.0.0.1 -U postgres bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python tests/benchmarks/bench_scoring.py --cases 1000000 --keep-verdicts
    dropdb -h 127.0.0.1 -U postgres bench

It migrates the database, loads the year with ``generate_load`` if it holds fewer cases, then
prints, for the ten counties: two hand-written SQL queries computing item 15's counts — one over
the ledger entries alone, one reading the ledger heads as scoring does; the full scoring (all 21
items, items 13/14/15 from the ledger) with item 13's verdicts cold and warm; that all three give
the same item-15 counts; and the peak RSS of a process that scores, and of one that scores and
writes both XLSX exports.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# With DEBUG off the settings refuse a missing key; a benchmark signs nothing that outlives it.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))

BASELINE = """
WITH per_case AS (
    SELECT c.region_id,
           MAX(CASE WHEN e.action IN ('resolve', 'explain') THEN e.seq END) AS close_seq,
           MAX(CASE WHEN e.action = 'reopen' THEN e.seq END) AS reopen_seq,
           MAX(CASE WHEN e.action IN ('resolve', 'explain') THEN e.occurred_at END) AS closed_at,
           MAX(CASE WHEN e.due_date IS NOT NULL THEN {key} END) AS due_key
    FROM cases_case c JOIN ledger_ledgerentry e ON e.case_id = c.id
    WHERE c.region_id IN ({regions}) AND c.received_at >= %s AND c.received_at < %s AND e.occurred_at < %s
    GROUP BY c.id, c.region_id
)
SELECT region_id,
       SUM(CASE WHEN close_seq > COALESCE(reopen_seq, 0) OR {key_date} <= %s THEN 1 ELSE 0 END) AS counted,
       SUM(CASE WHEN close_seq > COALESCE(reopen_seq, 0) AND {closed_on} <= {key_date} THEN 1 ELSE 0 END) AS on_time
FROM per_case GROUP BY region_id ORDER BY region_id
"""


# The same counts read as scoring reads them: a chain that ends before the end of the cutoff day
# from its ledger head (one row per case), the others from their entries before that moment.
HEADS_BASELINE = """
WITH per_case AS (
    SELECT c.region_id, h.close_seq, h.reopen_seq, h.closed_at, h.due_date
    FROM cases_case c JOIN ledger_ledgerhead h ON h.case_id = c.id
    WHERE c.region_id IN ({regions}) AND c.received_at >= %s AND c.received_at < %s AND h.last_at < %s
    UNION ALL
    SELECT c.region_id,
           MAX(CASE WHEN e.action IN ('resolve', 'explain') THEN e.seq END),
           MAX(CASE WHEN e.action = 'reopen' THEN e.seq END),
           MAX(CASE WHEN e.action IN ('resolve', 'explain') THEN e.occurred_at END),
           {due}
    FROM ledger_ledgerhead h {cross} cases_case c ON c.id = h.case_id JOIN ledger_ledgerentry e ON e.case_id = c.id
    WHERE c.region_id IN ({regions}) AND c.received_at >= %s AND c.received_at < %s
      AND h.last_at >= %s AND e.occurred_at < %s
    GROUP BY c.id, c.region_id
)
SELECT region_id,
       SUM(CASE WHEN close_seq > COALESCE(reopen_seq, 0) OR due_date <= %s THEN 1 ELSE 0 END) AS counted,
       SUM(CASE WHEN close_seq > COALESCE(reopen_seq, 0) AND {closed_on} <= due_date THEN 1 ELSE 0 END) AS on_time
FROM per_case GROUP BY region_id ORDER BY region_id
"""


def setup():
    import django

    django.setup()


def _fragments() -> dict:
    """The few SQL fragments the two hand-written queries spell differently per database."""
    from django.db import connection

    if connection.vendor == "postgresql":
        key = "lpad(e.seq::text, 10, '0') || e.due_date::text"
        return {
            "key": key,
            "closed_on": "CAST(closed_at AT TIME ZONE 'Asia/Shanghai' AS date)",
            "cross": "JOIN",
            "key_date": "CAST(substr(due_key, 11) AS date)",
            "due": f"CAST(substr(MAX(CASE WHEN e.due_date IS NOT NULL THEN {key} END), 11) AS date)",
        }
    key = "printf('%%010d', e.seq) || e.due_date"
    return {
        "key": key,
        "closed_on": "date(closed_at, '+8 hours')",
        "cross": "CROSS JOIN",
        "key_date": "substr(due_key, 11)",
        "due": f"substr(MAX(CASE WHEN e.due_date IS NOT NULL THEN {key} END), 11)",
    }


def _counts(template: str, scope, region_ids, halves: int) -> dict[int, tuple[int, int]]:
    """{region id: (counted, on time)}; ``halves``: how many times the query names the scope."""
    from django.db import connection

    sql = template.format(regions=", ".join(["%s"] * len(region_ids)), **_fragments())
    adapt = connection.ops.adapt_datetimefield_value
    start, end = adapt(scope.start), adapt(scope.end)
    params = [*region_ids, start, end, end]
    if halves == 2:
        params += [*region_ids, start, end, end, end]
    params.append(connection.ops.adapt_datefield_value(scope.cutoff))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {r: (int(c), int(o)) for r, c, o in cursor.fetchall()}


def baseline(scope, region_ids):
    return _counts(BASELINE, scope, region_ids, halves=1)


def heads_baseline(scope, region_ids):
    return _counts(HEADS_BASELINE, scope, region_ids, halves=2)


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def measure(step: str, year: int) -> None:
    """Run in a child process: one step, so its peak RSS is that step's."""
    setup()
    from scoring.exports import scoreboard_xlsx, scoresheet_xlsx
    from scoring.results import score_year

    board = score_year(year)
    if step == "xlsx":
        size = len(scoreboard_xlsx(board)) + len(scoresheet_xlsx(board, board.regions[0]))
        print(f"xlsx bytes {size}", file=sys.stderr)
    print(peak_rss_kb())


def peak_rss_kb() -> int:
    """This process's own peak RSS. VmHWM belongs to the address space made by exec; getrusage's
    ru_maxrss (of a child, or of oneself) carries the forking parent's footprint over exec on Linux."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child_peak_rss(step: str, year: int) -> float:
    done = subprocess.run(
        [sys.executable, __file__, "--measure", step, "--year", str(year)],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return int(done.stdout.split()[-1]) / 1024  # kB → MB


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=50000)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--measure", choices=["score", "xlsx"])
    parser.add_argument(
        "--keep-verdicts",
        action="store_true",
        help="skip the cold run: keep item 13's verdicts (generate_load and ledger appends fill them)",
    )
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.year)
        return
    setup()
    from django.core.management import call_command
    from django.db import connection

    from cases.models import Case, Region
    from ledger.models import LedgerHead
    from scoring.models import LedgerVerdict
    from scoring.results import score_year
    from scoring.scope import make_scope

    call_command("migrate", verbosity=0)
    have = Case.objects.filter(year=args.year).count()
    if have < args.cases:
        seconds, _ = timed(
            lambda: call_command(
                "generate_load", cases=args.cases - have, year=args.year, seed=args.seed, stdout=open(os.devnull, "w")
            )
        )
        print(f"generate_load {args.cases - have} cases: {seconds:.1f} s")
    total = Case.objects.filter(year=args.year).count()
    from ledger.models import LedgerEntry

    print(f"database {connection.vendor}; {total} cases in {args.year}; {LedgerEntry.objects.count()} ledger entries")
    scope = make_scope(args.year)
    region_ids = list(Region.objects.filter(level="county").order_by("code").values_list("pk", flat=True))

    if not args.keep_verdicts:
        LedgerVerdict.objects.all().delete()
        LedgerHead.objects.update(complete=None, missing=[])  # as if every head had been rebuilt
        cold, board = timed(lambda: score_year(args.year))
        print(f"score_year, item 13 verdicts cold (judges every chain once): {cold:.2f} s")
    else:
        first, board = timed(lambda: score_year(args.year))
        print(f"score_year, first run, verdicts kept: {first:.2f} s")
    base_times, heads_times, score_times = [], [], []
    for _ in range(args.repeat):
        t, counts = timed(lambda: baseline(scope, region_ids))
        base_times.append(t)
        t, head_counts = timed(lambda: heads_baseline(scope, region_ids))
        heads_times.append(t)
        t, board = timed(lambda: score_year(args.year))
        score_times.append(t)
    base, heads, score = min(base_times), min(heads_times), min(score_times)
    print(f"hand-written SQL over the ledger entries, item 15 counts only: {base:.2f} s (best of {args.repeat})")
    print(f"hand-written SQL over the ledger heads,   item 15 counts only: {heads:.2f} s (best of {args.repeat})")
    print(
        f"score_year, all 21 items, warm: {score:.2f} s (best of {args.repeat}) = {score / base:.2f}x the entries SQL, "
        f"{score / heads:.2f}x the heads SQL"
    )
    mine = {r.region.pk: (r.items[15].detail.counted, r.items[15].detail.on_time) for r in board.regions}
    same = all(mine[pk] == counts.get(pk, (0, 0)) == head_counts.get(pk, (0, 0)) for pk in region_ids)
    print(f"item 15 counts identical in all three: {same}")
    print(f"peak RSS, scoring process: {child_peak_rss('score', args.year):.0f} MB")
    print(f"peak RSS, scoring + XLSX exports process: {child_peak_rss('xlsx', args.year):.0f} MB")


if __name__ == "__main__":
    main()
