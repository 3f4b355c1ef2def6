"""Partitioning the ledger by year: measured, not assumed (issue 16, deliverable 5).

Prints figures, asserts nothing (not collected by pytest: no test_ prefix). One command, on a
PostgreSQL database of its own (the build writes ≈ 15 GB: check ``df -h`` first; it takes
≈ 20–40 minutes on two busy cores):

    createdb -h 127.0.0.1 -U postgres partition_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/partition_bench \\
        nice -n 10 .venv/bin/python tests/benchmarks/bench_partition.py
    dropdb -h 127.0.0.1 -U postgres partition_bench

``--build-only`` stops after building, ``--measure-only`` measures an existing build (the
archival step at the end deletes a year from both copies: rebuild before measuring again).

The build (SQL ``generate_series``, no Python per row) makes 2,500,000 cases received 2021–2025
(≈ 500,000 a year, ids in receipt order, 18 counties) with chains of 3–6 entries (mean 4.0:
10,000,000 entries) shaped as ``generate_load`` writes them — create (the enterprise, the
description: ≈ 0.6 kB of JSON), assign, acknowledge, return, extension request and approval,
resolve or explain — occurring 3–5 days apart, so chains of cases received in late December run
into the next year. Entries are inserted in the order they occur, as the app appends them (a
case's entries lie on different pages). Hashes are unique stand-ins (not a valid chain: nothing
here verifies them). The same rows go into two tables with the same columns:

- ``plain.ledger_ledgerentry``: as the ledger's migrations make it — primary key, unique hash,
  unique (case, seq), (case, occurred_at), (action, occurred_at), the actor's foreign-key index
  (migration 0008 dropped the hash's ``varchar_pattern_ops`` twin and the case's own index) — and
  the append-only trigger;
- ``part.ledger_ledgerentry``: declaratively partitioned by RANGE on ``occurred_at``, one
  partition per local (Asia/Shanghai) year 2021–2026, the same indexes; PostgreSQL requires the
  partition key in every unique index, so the primary key becomes (id, occurred_at), and
  (case, seq) and hash are unique only together with ``occurred_at`` — that is, not unique.

``public`` holds what the queries join: ``cases_case`` (id, region, number, received_at and the
app's (region, received_at, number) index), ``ledger_ledgerhead`` (built from the entries with the
app's own ``ledger.heads.rebuild`` SQL) and an empty ``scoring_ledgerverdict``. Each query runs
against one copy or the other by ``search_path`` — the very SQL the app sends: the ORM querysets
of the case page, ``append``, notices, trends and the dashboard, and scoring's item-15/13 scan
(``scoring.item15.grouped_sql``) and the heads rebuild (``ledger.heads.rebuild``'s SELECT) for one
year. Then the writes: 100,000 entries by COPY into the current year (2025) and 300 single-row
appends, VACUUM (ANALYZE) of the whole table and of the current year alone, and archiving 2021:
DELETE (the trigger disabled) then VACUUM, against DETACH PARTITION and DROP.

Printed: p50/p95 per query per copy, rows/s, seconds, table and index sizes, and the EXPLAIN
(ANALYZE, BUFFERS) plan of each query on each copy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import secrets
import statistics
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))

ZONE = ZoneInfo("Asia/Shanghai")
CASES = 2_500_000
YEARS = range(2021, 2026)  # cases received; entries run into 2026
PARTITION_YEARS = range(2021, 2027)
REGIONS = 18
COPY_ROWS = 100_000

# Chain length from a hash of the case id: 3 (35 %), 4 (40 %), 5 (15 %), 6 (10 %): mean 4.0.
CHAIN_LENGTH = """CASE WHEN (c.id * 2654435761) % 100 < 35 THEN 3 WHEN (c.id * 2654435761) % 100 < 75 THEN 4
                       WHEN (c.id * 2654435761) % 100 < 90 THEN 5 ELSE 6 END"""

ACTION = """(CASE t.n
    WHEN 3 THEN ARRAY['create', 'assign', 'resolve']
    WHEN 4 THEN ARRAY['create', 'assign', 'acknowledge', CASE WHEN t.case_id % 8 = 0 THEN 'explain' ELSE 'resolve' END]
    WHEN 5 THEN ARRAY['create', 'assign', 'return', 'assign', 'resolve']
    ELSE ARRAY['create', 'assign', 'acknowledge', 'request_extension', 'approve_extension', 'resolve'] END)[t.seq]"""

DESCRIPTION = (
    "企业反映：在办理项目用地规划许可和施工许可过程中，申报材料多次被退回补正，"
    "审批时限超过承诺时限，影响项目按期开工，希望相关部门加强协调、一次性告知所需材料并明确办理时限。"
)

PAYLOAD = f"""CASE a.action
    WHEN 'create' THEN jsonb_build_object(
        'enterprise', '河南省某某科技有限公司' || (t.case_id % 40000), 'credit_code',
        '91410100' || upper(substr(md5(t.case_id::text), 1, 10)), 'size', 'small',
        'category', 'C0' || (t.case_id % 9), 'channel', 'hotline',
        'description', '河南省某某科技有限公司' || (t.case_id % 40000) || '{DESCRIPTION}',
        'contact_name', '联系人', 'contact_phone', '13800000000', 'received_at', t.received_at::text,
        'deadline_days', 10, 'ref', NULL)
    WHEN 'assign' THEN jsonb_build_object('department', t.department, 'department_name', '县发展和改革委员会',
        'complex', false)
    WHEN 'acknowledge' THEN jsonb_build_object('department', t.department)
    WHEN 'return' THEN jsonb_build_object('reason', '不属于本单位职责', 'department', t.department,
        'department_name', '县发展和改革委员会', 'suggested_department', '')
    WHEN 'request_extension' THEN jsonb_build_object('request', NULL, 'reason', '需协调上级部门', 'days', 5,
        'due_date', (t.received_at + interval '14 days')::date::text)
    WHEN 'approve_extension' THEN jsonb_build_object('request', NULL, 'days', 5, 'reason', '需协调上级部门',
        'note', '', 'due_date_before', (t.received_at + interval '14 days')::date::text,
        'due_date', (t.received_at + interval '21 days')::date::text)
    WHEN 'explain' THEN jsonb_build_object('result', '经核实不属于政策支持范围，已向企业解释答复',
        'policy_basis', '相关政策文件', 'redirect_to', '市场监督管理局',
        'evidence', jsonb_build_array(jsonb_build_object('reference', '办结材料-' || t.number || '-1.pdf')))
    ELSE jsonb_build_object('result', '问题已协调解决',
        'evidence', jsonb_build_array(jsonb_build_object('reference', '办结材料-' || t.number || '-1.pdf')))
    END"""

COLUMNS = (
    "case_id, seq, action, from_state, to_state, actor_name, occurred_at, recorded_at, source, due_date, "
    "payload, prev_hash, hash, actor_id"
)

ENTRIES_SELECT = f"""
SELECT t.case_id, t.seq, a.action,
    CASE a.action WHEN 'create' THEN '' WHEN 'assign' THEN 'received' ELSE 'assigned' END,
    CASE a.action WHEN 'create' THEN 'received' WHEN 'return' THEN 'received' WHEN 'resolve' THEN 'resolved'
        WHEN 'explain' THEN 'explained' ELSE 'assigned' END,
    '县政务服务办公室', t.occurred_at, t.occurred_at + interval '2 seconds', 'web',
    CASE a.action WHEN 'create' THEN (t.received_at + interval '14 days')::date
        WHEN 'approve_extension' THEN (t.received_at + interval '21 days')::date END,
    {PAYLOAD},
    CASE WHEN t.seq = 1 THEN repeat('0', 64)
        ELSE md5(t.case_id || ':' || (t.seq - 1)) || md5((t.seq - 1) || ':' || t.case_id) END,
    md5(t.case_id || ':' || t.seq) || md5(t.seq || ':' || t.case_id), NULL::integer
FROM (
    SELECT c.id AS case_id, c.number, c.received_at, c.region_id * 10 + c.id % 8 AS department, s AS seq, l.n,
        c.received_at + (s - 1) * (interval '3 days' + (c.id % 48) * interval '1 hour') AS occurred_at
    FROM public.cases_case c
    CROSS JOIN LATERAL (SELECT {CHAIN_LENGTH} AS n) l
    CROSS JOIN LATERAL generate_series(1, l.n) s
    ORDER BY occurred_at, c.id, s
) t CROSS JOIN LATERAL (SELECT {ACTION} AS action) a
"""

TABLE_COLUMNS = """
    seq integer NOT NULL CHECK (seq >= 0), action varchar(40) NOT NULL, from_state varchar(20) NOT NULL,
    to_state varchar(20) NOT NULL, actor_name varchar(150) NOT NULL, occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL, source varchar(10) NOT NULL, due_date date NULL, payload jsonb NOT NULL,
    prev_hash varchar(64) NOT NULL, hash varchar(64) NOT NULL, actor_id integer NULL, case_id bigint NOT NULL
"""

TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_entry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only: % refused on ledger_ledgerentry', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql
"""


def year_start(year: int) -> dt.datetime:
    return dt.datetime(year, 1, 1, tzinfo=ZONE)


def build_statements() -> list[tuple[str, str]]:
    """(label, SQL) in order; a step of several statements separates them with ``;`` at a line end."""
    first, span = year_start(YEARS.start), year_start(YEARS.stop) - year_start(YEARS.start)
    step = span.total_seconds() / CASES
    steps: list[tuple[str, str]] = [
        ("schemas", "CREATE SCHEMA plain; CREATE SCHEMA part"),
        ("trigger function", TRIGGER_FUNCTION),
        (
            "cases_case",
            f"""CREATE TABLE public.cases_case (id bigint PRIMARY KEY, region_id bigint NOT NULL,
                number varchar(40) NOT NULL UNIQUE, received_at timestamptz NOT NULL);
            INSERT INTO public.cases_case
            SELECT g, 1 + g % {REGIONS}, 'HN' || lpad((1 + g % {REGIONS})::text, 3, '0') || '-' || g,
                timestamptz '{first.isoformat()}' + (g - 1) * interval '{step:.6f} seconds'
            FROM generate_series(1, {CASES}) g;
            CREATE INDEX case_region_received_no_idx ON public.cases_case (region_id, received_at, number)""",
        ),
        (
            "plain table",
            f"CREATE TABLE plain.ledger_ledgerentry (id bigint GENERATED BY DEFAULT AS IDENTITY, {TABLE_COLUMNS})",
        ),
        (
            "partitioned table",
            f"CREATE TABLE part.ledger_ledgerentry (id bigint GENERATED BY DEFAULT AS IDENTITY, {TABLE_COLUMNS})"
            " PARTITION BY RANGE (occurred_at)",
        ),
    ]
    for year in PARTITION_YEARS:
        steps.append(
            (
                f"partition {year}",
                f"CREATE TABLE part.ledger_ledgerentry_y{year} PARTITION OF part.ledger_ledgerentry "
                f"FOR VALUES FROM ('{year_start(year).isoformat()}') TO ('{year_start(year + 1).isoformat()}')",
            )
        )
    steps += [
        (
            "entries: plain (10M, in occurrence order)",
            f"INSERT INTO plain.ledger_ledgerentry ({COLUMNS}) {ENTRIES_SELECT}",
        ),
        (
            "entries: partitioned (the same rows)",
            f"INSERT INTO part.ledger_ledgerentry (id, {COLUMNS}) SELECT id, {COLUMNS} FROM plain.ledger_ledgerentry",
        ),
        (
            "identity of the partitioned copy",
            "SELECT setval(pg_get_serial_sequence('part.ledger_ledgerentry', 'id'), "
            "(SELECT max(id) FROM part.ledger_ledgerentry))",
        ),
    ]
    for schema in ("plain", "part"):
        steps += [(f"indexes: {schema} — {label}", sql.format(s=schema)) for label, sql in index_statements(schema)]
    steps += [
        (
            "ledger_ledgerhead (the app's rebuild, all cases)",
            """CREATE TABLE public.ledger_ledgerhead (case_id bigint PRIMARY KEY REFERENCES public.cases_case (id),
                seq integer NOT NULL, last_at timestamptz NOT NULL, close_seq integer NULL, closed_at timestamptz NULL,
                reopen_seq integer NULL, due_date date NULL, department_id integer NULL, complete boolean NULL,
                missing jsonb NOT NULL DEFAULT '[]', verified_seq integer NULL, verified_hash varchar(64) NOT NULL
                DEFAULT '', verified_at timestamptz NULL, chain_ok boolean NULL, stages jsonb NULL);
            CREATE INDEX ledger_head_last_at_idx ON public.ledger_ledgerhead (last_at);
            CREATE TABLE public.scoring_ledgerverdict (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                case_id bigint NOT NULL, through_seq integer NOT NULL, last_hash varchar(64) NOT NULL,
                missing jsonb NOT NULL, complete boolean NOT NULL, UNIQUE (case_id, through_seq))""",
        ),
        ("heads", "HEADS"),  # filled by ledger.heads.rebuild on the plain copy (see build())
        ("vacuum analyze public", "VACUUM ANALYZE public.cases_case;\nVACUUM ANALYZE public.ledger_ledgerhead"),
    ]
    return steps


def index_statements(schema: str) -> list[tuple[str, str]]:
    """The indexes and constraints of the ledger's migrations, 0001 to 0008 (names as Django gives them). On the
    partitioned copy every unique index must contain the partition key."""
    key = ", occurred_at" if schema == "part" else ""
    return [
        ("primary key", f"ALTER TABLE {{s}}.ledger_ledgerentry ADD PRIMARY KEY (id{key})"),
        (
            "unique hash",
            f"ALTER TABLE {{s}}.ledger_ledgerentry ADD CONSTRAINT ledger_ledgerentry_hash_key UNIQUE (hash{key})",
        ),
        (
            "unique (case, seq)",
            f"ALTER TABLE {{s}}.ledger_ledgerentry ADD CONSTRAINT ledger_unique_seq_per_case UNIQUE (case_id, seq{key})",
        ),
        ("actor_id", "CREATE INDEX ledger_ledgerentry_actor_id_3bb583e9 ON {s}.ledger_ledgerentry (actor_id)"),
        (
            "(case, occurred_at)",
            "CREATE INDEX ledger_case_occurred_idx ON {s}.ledger_ledgerentry (case_id, occurred_at)",
        ),
        (
            "(action, occurred_at)",
            "CREATE INDEX ledger_action_occurred_idx ON {s}.ledger_ledgerentry (action, occurred_at)",
        ),
        (
            "foreign key to cases",
            "ALTER TABLE {s}.ledger_ledgerentry ADD CONSTRAINT ledger_ledgerentry_case_id_a6095f8b_fk_cases_case_id "
            "FOREIGN KEY (case_id) REFERENCES public.cases_case (id) DEFERRABLE INITIALLY DEFERRED",
        ),
        (
            "append-only trigger",
            "CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON {s}.ledger_ledgerentry "
            "FOR EACH ROW EXECUTE FUNCTION ledger_entry_append_only()",
        ),
        ("vacuum analyze", "VACUUM (ANALYZE) {s}.ledger_ledgerentry"),
    ]


def setup():
    import django

    django.setup()


def execute(sql: str, params=None):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


def session(schema: str | None = None, *, build: bool = False) -> None:
    """Point the unqualified ledger table at one copy; a build gets memory and no parallel workers."""
    if schema:
        execute(f"SET search_path TO {schema}, public")
    if build:
        execute("SET work_mem = '256MB'")
        execute("SET maintenance_work_mem = '512MB'")
        execute("SET max_parallel_maintenance_workers = 0")
        execute("SET max_parallel_workers_per_gather = 0")


def build() -> None:
    from ledger import heads

    if execute("SELECT 1 FROM pg_namespace WHERE nspname = 'part'"):
        print("build: already there (schemas plain and part); --measure-only to measure it")
        return
    print(f"Build: {CASES:,} cases received {YEARS.start}–{YEARS.stop - 1}, chains of 3–6 entries")
    session(build=True)
    total = time.perf_counter()
    for label, sql in build_statements():
        started = time.perf_counter()
        if sql == "HEADS":
            session("plain")
            count = heads.rebuild()
            session("public")
            label = f"{label}: {count:,} heads"
        else:
            for statement in [sql] if "$$" in sql else sql.split(";\n"):
                if statement.strip():
                    execute(statement)
        print(f"  {label:<60} {time.perf_counter() - started:8.1f} s", flush=True)
    print(f"  {'build total':<60} {time.perf_counter() - total:8.1f} s")


COPIES = ("plain", "part")


class Recorder:
    """The SQL the app sends while a callable runs (for EXPLAIN), via Django's execute wrapper."""

    def __init__(self):
        self.statements: list[tuple[str, object]] = []

    def __call__(self, execute_, sql, params, many, context):
        self.statements.append((sql, params))
        return execute_(sql, params, many, context)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def explain(statements: list[tuple[str, object]]) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) the longest statement, after the ones sent before it (a rebuild's
    DELETE before its INSERT), in a transaction rolled back: ANALYZE runs a write too."""
    from django.db import connection, transaction

    sent = [(sql, params) for sql, params in statements if not sql.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))]
    main = max(range(len(sent)), key=lambda k: len(sent[k][0]))
    with transaction.atomic():
        with connection.cursor() as cursor:
            for sql, params in sent[:main]:
                cursor.execute(sql, params)
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sent[main][0]}", sent[main][1])
            plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


class Bench:
    def __init__(self, runs: int):
        self.runs = runs
        self.rows: list[tuple[str, dict[str, list[float]]]] = []
        self.plans: list[tuple[str, str, str]] = []
        self.facts: list[tuple[str, str, str]] = []

    def query(self, label: str, make, runs: int | None = None, *, plan: bool = True) -> None:
        """Time ``make(i)()`` on each copy, alternating copies run by run (the same inputs on both);
        keep the EXPLAIN of the last statement it sent on each copy."""
        from django.db import connection

        runs = runs or self.runs
        times: dict[str, list[float]] = {copy: [] for copy in COPIES}
        for i in range(runs + 1):  # run 0 warms the cache, not counted
            for copy in COPIES if i % 2 else reversed(COPIES):
                session(copy)
                call = make(i)
                recorder = Recorder()
                with connection.execute_wrapper(recorder):
                    started = time.perf_counter()
                    call()
                    took = (time.perf_counter() - started) * 1000
                if i:
                    times[copy].append(took)
                if plan and i == runs:
                    self.plans.append((label, copy, explain(recorder.statements)))
        self.rows.append((label, times))
        p = {copy: statistics.median(t) for copy, t in times.items()}
        print(f"  {label:<58} plain p50 {p['plain']:9.1f} ms   part p50 {p['part']:9.1f} ms", flush=True)

    def fact(self, label: str, plain: str, part: str) -> None:
        self.facts.append((label, plain, part))
        print(f"  {label:<58} plain {plain:>14}   part {part:>14}", flush=True)

    def report(self) -> None:
        print("\nQueries (ms; runs alternate the two copies, the first run of each warms the cache)")
        header = (
            f"{'query':<58} {'runs':>4} {'plain p50':>10} {'p95':>9} {'part p50':>10} {'p95':>9} {'part/plain':>10}"
        )
        print(header)
        print("-" * len(header))
        for label, times in self.rows:
            plain, part = times["plain"], times["part"]
            p50 = statistics.median(plain), statistics.median(part)
            print(
                f"{label:<58} {len(plain):>4} {p50[0]:>10.1f} {percentile(plain, 0.95):>9.1f} "
                f"{p50[1]:>10.1f} {percentile(part, 0.95):>9.1f} {p50[1] / p50[0]:>9.2f}x"
            )
        print("\nWrites, maintenance, sizes")
        print(f"{'':<58} {'plain':>16} {'partitioned':>16}")
        for label, plain, part in self.facts:
            print(f"{label:<58} {plain:>16} {part:>16}")
        print("\nPlans: EXPLAIN (ANALYZE, BUFFERS) of each query's main statement, last run")
        for label, copy, plan in self.plans:
            print(f"\n--- {label} [{copy}]\n{plan}")


def mb(size: int) -> str:
    return f"{size / 1024 / 1024:,.0f} MB"


def sizes(bench: Bench, when: str) -> None:
    """Heap (with TOAST) and each index by its columns, summed over the partitions; a unique index
    of the partitioned copy carries ``occurred_at`` too (named here as the plain one it stands for)."""
    by_copy: dict[str, dict[str, int]] = {}
    for copy in COPIES:
        table = f"{copy}.ledger_ledgerentry"
        leaves = [
            r[0] for r in execute("SELECT relid::text FROM pg_partition_tree(%s::regclass) WHERE isleaf", [table])
        ]
        leaves = leaves or [table]  # a plain table is its own only leaf
        rows = execute(
            """SELECT CASE WHEN x.indisunique THEN 'unique ' ELSE 'index ' END
                      || substring(pg_get_indexdef(x.indexrelid) from 'USING btree (.*)$'),
                   sum(pg_relation_size(x.indexrelid))
            FROM pg_index x WHERE x.indrelid = ANY(%s::regclass[])
            GROUP BY 1
            UNION ALL
            SELECT 'heap + toast', sum(pg_table_size(t)) FROM unnest(%s::regclass[]) t""",
            [leaves, leaves],
        )
        folded: dict[str, int] = {}
        for name, size in rows:
            if name.startswith("unique ") and copy == "part":
                name = name.replace(", occurred_at)", ")")
            folded[name] = int(size)
        by_copy[copy] = folded
    names = sorted(set(by_copy["plain"]) | set(by_copy["part"]), key=lambda n: (n != "heap + toast", n))
    for name in names:
        bench.fact(f"size {when}: {name}"[:58], mb(by_copy["plain"].get(name, 0)), mb(by_copy["part"].get(name, 0)))
    total = {copy: sum(v.values()) for copy, v in by_copy.items()}
    bench.fact(f"size {when}: total", mb(total["plain"]), mb(total["part"]))


def timed(sql: str, params=None) -> float:
    started = time.perf_counter()
    execute(sql, params)
    return time.perf_counter() - started


def measure(runs: int) -> None:
    from django.db import transaction
    from django.db.models import Count, Max, Min, OuterRef, Subquery

    from ledger import heads
    from ledger.models import LedgerEntry
    from scoring.item15 import timeliness_for_regions
    from scoring.scope import Scope

    bench = Bench(runs)
    rng = random.Random(16)
    n_cases = execute("SELECT max(id) FROM public.cases_case")[0][0]
    session("public")
    by_year = {
        year: execute(
            "SELECT min(id), max(id) FROM public.cases_case WHERE received_at >= %s AND received_at < %s",
            [year_start(year), year_start(year + 1)],
        )[0]
        for year in YEARS
    }
    print(f"\nMeasure: {n_cases:,} cases; entries in each copy:")
    for copy in COPIES:
        session(copy)
        print(f"  {copy}: {execute('SELECT count(*) FROM ledger_ledgerentry')[0][0]:,} entries")
    spanning = execute(
        """SELECT count(*) FROM public.ledger_ledgerhead h JOIN public.cases_case c ON c.id = h.case_id
           WHERE date_part('year', h.last_at AT TIME ZONE 'Asia/Shanghai')
               > date_part('year', c.received_at AT TIME ZONE 'Asia/Shanghai')"""
    )[0][0]
    print(f"  cases whose chain runs into the next year: {spanning:,} ({spanning / n_cases:.1%})")
    region_ids = list(range(1, REGIONS + 1))
    random_cases = [rng.randint(1, n_cases) for _ in range(max(runs, 30) + 1)]
    head_seq = dict(
        execute("SELECT case_id, seq FROM public.ledger_ledgerhead WHERE case_id = ANY(%s)", [random_cases])
    )

    print("\nReads (the app's querysets and SQL, per copy)")
    bench.query(
        "case page: a case's chain (ledger.services.chain)",
        lambda i: lambda: list(LedgerEntry.objects.filter(case_id=random_cases[i]).order_by("seq")),
    )
    bench.query(
        "the whole chain (verify, append before O(1) heads)",
        lambda i: lambda: list(LedgerEntry.objects.filter(case_id=random_cases[i]).order_by("seq")),
        plan=False,
    )
    bench.query(
        "O(1) append: the head's last entry (case, seq)",
        lambda i: lambda: list(LedgerEntry.objects.filter(case_id=random_cases[i], seq=head_seq[random_cases[i]])),
    )
    bench.query(
        "offers: the chain's top seq (Max)",
        lambda i: lambda: LedgerEntry.objects.filter(case_id=random_cases[i]).aggregate(m=Max("seq")),
    )
    bench.query(
        "dashboard: returns of 50 cases (case_id IN, action)",
        lambda i: (
            lambda: list(
                LedgerEntry.objects.filter(
                    case_id__in=[random_cases[i] + k for k in range(50)], action="return"
                ).values_list("case_id", "payload")
            )
        ),
    )
    first_2024, last_2024 = by_year[2024]
    chunk_starts = [rng.randint(first_2024, last_2024 - 2000) for _ in range(max(runs, 30) + 1)]
    bench.query(
        "item 13 / verify: chains of 2,000 cases of 2024",
        lambda i: (
            lambda: list(
                LedgerEntry.objects.filter(case_id__in=range(chunk_starts[i], chunk_starts[i] + 2000))
                .order_by("case_id", "seq")
                .values_list("case_id", "seq", "hash")
            )
        ),
        runs=max(5, runs // 3),
    )

    def rebuild_heads(ids):
        def call():
            with transaction.atomic():
                heads.rebuild(case_ids=ids)
                transaction.set_rollback(True)

        return call

    bench.query(
        "heads.rebuild of 2,000 cases of 2024 (rolled back)",
        lambda i: rebuild_heads(list(range(chunk_starts[i], chunk_starts[i] + 2000))),
        runs=max(5, runs // 3),
    )
    year_end = dt.date(2024, 12, 31)
    full_year = Scope(year=2024, cutoff=year_end, start=year_start(2024), end=year_start(2025))
    mid_year = Scope(
        year=2024, cutoff=dt.date(2024, 6, 30), start=year_start(2024), end=dt.datetime(2024, 7, 1, tzinfo=ZONE)
    )
    bench.query(
        "scoring item 15/13 scan, 2024, 18 counties, cutoff 12-31",
        lambda i: lambda: timeliness_for_regions(region_ids, full_year),
        runs=max(3, runs // 10),
    )
    bench.query(
        "scoring item 15/13 scan, 2024, 18 counties, cutoff 06-30",
        lambda i: lambda: timeliness_for_regions(region_ids, mid_year),
        runs=max(3, runs // 10),
    )
    months = [(2025, m) for m in range(1, 12)]
    closing = ("resolve", "explain")

    def month_bounds(i):
        year, month = months[i % len(months)]
        return dt.datetime(year, month, 1, tzinfo=ZONE), dt.datetime(year, month + 1, 1, tzinfo=ZONE)

    def notice_closings(i):
        start, end = month_bounds(i)
        region = 1 + i % REGIONS
        return lambda: list(
            LedgerEntry.objects.filter(
                case__region_id=region, action__in=closing, occurred_at__gte=start, occurred_at__lt=end
            )
            .annotate(
                due_in_force=Subquery(
                    LedgerEntry.objects.filter(
                        case=OuterRef("case_id"), seq__lte=OuterRef("seq"), due_date__isnull=False
                    )
                    .order_by("-seq")
                    .values("due_date")[:1]
                )
            )
            .order_by()
            .values_list("case_id", "occurred_at", "seq", "action", "due_in_force")
        )

    bench.query("notice: a county-month's closings with due in force", notice_closings, runs=max(5, runs // 3))

    def notice_assigned(i):
        start, end = month_bounds(i)
        region = 1 + i % REGIONS
        return lambda: (
            LedgerEntry.objects.filter(case__region_id=region, action="assign")
            .values("case_id")
            .annotate(first=Min("occurred_at"))
            .filter(first__gte=start, first__lt=end)
            .count()
        )

    bench.query("notice: a county-month's first assignments (all years)", notice_assigned, runs=max(3, runs // 10))

    def trends_returns(i):
        region = 1 + i % REGIONS
        return lambda: list(
            LedgerEntry.objects.filter(
                action="return",
                case__region_id=region,
                occurred_at__gte=year_start(2024),
                occurred_at__lt=year_start(2025),
            )
            .values("payload__department")
            .annotate(n=Count("id"))
            .values_list("payload__department", "n")
            .order_by()
        )

    bench.query("trends: a county-year's returns by department", trends_returns, runs=max(5, runs // 3))
    now = dt.datetime(2025, 12, 20, 12, tzinfo=ZONE)
    bench.query(
        "recent activity: closings city-wide in the last 7 days",
        lambda i: (
            lambda: LedgerEntry.objects.filter(
                action__in=closing, occurred_at__gte=now - dt.timedelta(days=7), occurred_at__lt=now
            ).count()
        ),
    )
    bench.query(
        "notes_since: a case's notes of a purpose since a day",
        lambda i: (
            lambda: LedgerEntry.objects.filter(
                case_id=random_cases[i],
                action="note",
                occurred_at__gte=now - dt.timedelta(days=30),
                payload__purpose="urge",
            ).count()
        ),
    )

    sizes(bench, "built")
    uniqueness(bench)
    writes(bench, rng, by_year[2025], runs)
    maintenance(bench)
    archive(bench)
    bench.report()


def copy_entries(bench: Bench, rng: random.Random, year_2025: tuple[int, int], seq_offset: int = 0) -> None:
    """COPY new entries (a note on each of 100,000 cases of 2025) into each copy: two rounds of
    half, the copies in turn first (part, plain; then plain, part), so neither always goes first."""
    from django.db import connection, transaction

    first_2025, last_2025 = year_2025
    copy_rows = min(COPY_ROWS, (last_2025 - first_2025 - 1000) // 2)  # a small --cases build has fewer
    copy_cases = rng.sample(range(first_2025, last_2025 - 1000), copy_rows)
    seqs = dict(execute("SELECT case_id, seq FROM public.ledger_ledgerhead WHERE case_id = ANY(%s)", [copy_cases]))
    base = dt.datetime(2025, 12, 20, 9, tzinfo=ZONE)
    columns = "case_id, seq, action, from_state, to_state, actor_name, occurred_at, recorded_at, source, payload, "
    columns += "prev_hash, hash"
    payload = '{"purpose": "urge", "text": "请加快办理进度，按时答复企业。"}'
    took = {copy: 0.0 for copy in COPIES}
    half = copy_rows // 2
    for round_, order in enumerate([("part", "plain"), ("plain", "part")]):
        lines = io.StringIO()
        for k, case_id in enumerate(copy_cases[round_ * half : (round_ + 1) * half]):
            at = (base + dt.timedelta(milliseconds=k)).isoformat()
            seq = seqs[case_id] + 1 + seq_offset
            lines.write(
                f"{case_id}\t{seq}\tnote\tresolved\tresolved\t县政务服务办公室\t{at}\t{at}\tweb\t{payload}\t"
                f"{'a' * 64}\t{secrets.token_hex(32)}\n"
            )
        data = lines.getvalue()
        rates = {}
        for copy in order:
            session(copy)
            started = time.perf_counter()
            with transaction.atomic(), connection.cursor() as cursor:
                with cursor.cursor.copy(f"COPY ledger_ledgerentry ({columns}) FROM STDIN") as copier:
                    copier.write(data)
            seconds = time.perf_counter() - started
            took[copy] += seconds
            rates[copy] = f"{half / seconds:,.0f}/s"
        bench.fact(f"COPY round {round_ + 1}: {half:,} entries, {order[0]} first", rates["plain"], rates["part"])
    bench.fact(
        f"COPY {2 * half:,} entries into 2025 (rows/s)",
        f"{2 * half / took['plain']:,.0f}/s",
        f"{2 * half / took['part']:,.0f}/s",
    )


def writes(bench: Bench, rng: random.Random, year_2025: tuple[int, int], runs: int) -> None:
    from django.db import transaction

    from ledger.models import LedgerEntry

    print("\nWrites (the same rows into each copy)")
    _first_2025, last_2025 = year_2025
    copy_entries(bench, rng, year_2025)
    base = dt.datetime(2025, 12, 20, 9, tzinfo=ZONE)
    # Cases the COPY left alone (it samples below the last 1,000 of 2025).
    single_cases = list(range(last_2025 - 1000, last_2025))[: max(runs, 30) * 10 + 10]
    single_seq = dict(
        execute("SELECT case_id, seq FROM public.ledger_ledgerhead WHERE case_id = ANY(%s)", [single_cases])
    )

    def append_one(i):
        case_id = single_cases[i]

        def call():
            with transaction.atomic():
                LedgerEntry.objects.create(
                    case_id=case_id,
                    seq=single_seq[case_id] + 1,
                    action="note",
                    from_state="resolved",
                    to_state="resolved",
                    actor_name="县政务服务办公室",
                    occurred_at=base,
                    recorded_at=base,
                    source="web",
                    payload={"purpose": "urge"},
                    prev_hash="a" * 64,
                    hash=secrets.token_hex(32),
                )

        return call

    bench.query("append: one INSERT in its own transaction (2025)", append_one, runs=max(runs, 30) * 10, plan=False)


def uniqueness(bench: Bench) -> None:
    """What the unique indexes still refuse: a second entry with an existing (case, seq), and one
    with an existing hash, each occurring a minute later (rolled back)."""
    from django.db import IntegrityError, transaction

    case_id, seq, hash_, at = execute(
        "SELECT case_id, seq, hash, occurred_at FROM plain.ledger_ledgerentry WHERE case_id = 1000 AND seq = 2"
    )[0]
    insert = (
        "INSERT INTO ledger_ledgerentry (case_id, seq, action, from_state, to_state, actor_name, occurred_at, "
        "recorded_at, source, payload, prev_hash, hash) "
        "VALUES (%s, %s, 'note', '', '', '', %s, %s, 'web', '{}', '', %s)"
    )
    later = at + dt.timedelta(minutes=1)
    for label, params in [
        ("duplicate (case, seq) a minute later", [case_id, seq, later, later, secrets.token_hex(32)]),
        ("duplicate hash a minute later", [case_id, 999, later, later, hash_]),
    ]:
        verdicts = []
        for copy in COPIES:
            session(copy)
            try:
                with transaction.atomic():
                    execute(insert, params)
                    transaction.set_rollback(True)
                verdicts.append("ACCEPTED")
            except IntegrityError:
                verdicts.append("refused")
        bench.fact(label, *verdicts)


def maintenance(bench: Bench) -> None:
    print("\nMaintenance")
    for label, plain_sql, part_sql in [
        ("ANALYZE the table", "ANALYZE plain.ledger_ledgerentry", "ANALYZE part.ledger_ledgerentry"),
        (
            "VACUUM (ANALYZE): plain table / the 2025 partition",
            "VACUUM (ANALYZE) plain.ledger_ledgerentry",
            "VACUUM (ANALYZE) part.ledger_ledgerentry_y2025",
        ),
        (
            "VACUUM (ANALYZE): the whole table",
            "VACUUM (ANALYZE) plain.ledger_ledgerentry",
            "VACUUM (ANALYZE) part.ledger_ledgerentry",
        ),
    ]:
        bench.fact(label, f"{timed(plain_sql):.1f} s", f"{timed(part_sql):.1f} s")
    sizes(bench, "after COPY")


def archive(bench: Bench) -> None:
    from django.db import transaction

    print("\nArchiving 2021 (entries that occurred in 2021)")
    cut = year_start(2022)
    split = execute(
        """SELECT count(*) FROM public.ledger_ledgerhead h JOIN public.cases_case c ON c.id = h.case_id
           WHERE c.received_at < %s AND h.last_at >= %s""",
        [cut, cut],
    )[0][0]
    bench.fact("cases received 2021 whose chain the cut splits", f"{split:,}", f"{split:,}")
    started = time.perf_counter()
    with transaction.atomic():
        execute("ALTER TABLE plain.ledger_ledgerentry DISABLE TRIGGER ledger_entry_append_only")
        deleted = execute(
            "WITH d AS (DELETE FROM plain.ledger_ledgerentry WHERE occurred_at < %s RETURNING 1) "
            "SELECT count(*) FROM d",
            [cut],
        )[0][0]
        execute("ALTER TABLE plain.ledger_ledgerentry ENABLE TRIGGER ledger_entry_append_only")
    delete_s = time.perf_counter() - started
    vacuum_s = timed("VACUUM plain.ledger_ledgerentry")
    started = time.perf_counter()
    with transaction.atomic():
        execute("ALTER TABLE part.ledger_ledgerentry DETACH PARTITION part.ledger_ledgerentry_y2021")
        execute("DROP TABLE part.ledger_ledgerentry_y2021")
    detach_s = time.perf_counter() - started
    bench.fact(f"remove 2021 ({deleted:,} entries)", f"DELETE {delete_s:.1f} s", f"DETACH+DROP {detach_s:.2f} s")
    bench.fact("… then VACUUM", f"{vacuum_s:.1f} s", "—")
    sizes(bench, "after 2021 removed")


def main() -> None:
    global CASES
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=CASES, help="cases to build (default 2,500,000 ≈ 10M entries)")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--measure-only", action="store_true")
    parser.add_argument("--runs", type=int, default=30, help="runs of each light query per copy")
    args = parser.parse_args()
    CASES = args.cases
    setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("bench_partition measures PostgreSQL: set DATABASE_URL to a database of its own")
    if not args.measure_only:
        build()
    if not args.build_only:
        measure(args.runs)


if __name__ == "__main__":
    main()
