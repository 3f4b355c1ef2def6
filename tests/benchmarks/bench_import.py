"""Import benchmark: prints figures, asserts nothing (not collected by pytest: no test_ prefix).

Generates a ledger file of N rows (ten counties, every state, ~N/3 enterprises, departments the
import creates, a closing 合计 row), imports it as the city office in a child process and prints
rows per second for the checking pass, the write pass and the whole import, with the child's
peak RSS; then the same file again (every row unchanged), ``verify_ledger`` over the result, and
the services path (row by row, the floor) on the first ``--services-rows`` rows of another file.
Each import also prints the importing process's own CPU time and the load average: on a shared
machine the wall times follow the load, the CPU time much less (on SQLite it includes the
database's work; on PostgreSQL the server's is not in it). ``--profile FILE`` saves the first
import's cProfile statistics (``python -m pstats FILE``); ``--rows 20000 --services-rows 0`` is a
quick iteration.

SQLite (a fresh file):
    rm -f /tmp/bench_import.sqlite3*
    DATABASE_URL=sqlite:////tmp/bench_import.sqlite3 .venv/bin/python tests/benchmarks/bench_import.py --rows 100000
PostgreSQL (a database of its own, dropped afterwards):
    createdb -h 127.0.0.1 -U postgres scale_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scale_bench .venv/bin/python tests/benchmarks/bench_import.py --rows 100000
    dropdb -h 127.0.0.1 -U postgres scale_bench
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

HEADER = [
    "序号",
    "编号",
    "县区代码",
    "企业名称",
    "统一社会信用代码",
    "问题类别",
    "反映渠道",
    "问题内容",
    "受理时间",
    "责任单位",
    "交办时间",
    "办理时限",
    "办理状态",
    "办结时间",
    "办理结果",
    "佐证材料",
    "政策依据",
    "告知去向",
    "联系人",
    "联系电话",
    "企业规模",
]
COUNTIES = ["411502", "411503", "411521", "411522", "411523", "411524", "411525", "411526", "411527", "411528"]
DEPARTMENTS = [
    "发展和改革委员会",
    "工业和信息化局",
    "人力资源和社会保障局",
    "自然资源局",
    "市场监督管理局",
    "税务局",
    "住房和城乡建设局",
    "生态环境局",
    "商务局",
    "金融工作局",
]
CATEGORIES = ["产销对接", "银企对接", "用工对接", "企业减负", "行政审批", "要素保障", "政策落实", "其他"]
CHANNELS = ["网络平台", "热线电话", "走访", "省企业服务网", "来信来函", ""]
STATES = [("已受理", 10), ("已交办", 20), ("已解决", 50), ("已解释答复", 20)]
SIZES = ["", "规模以上", "双百", "双30", "小微", "其他"]


def setup():
    import django

    django.setup()


def credit_code(index: int, area: str) -> str:
    from cases import credit_code as codes

    body, n = "", index
    for _ in range(9):
        n, digit = divmod(n, 31)
        body += codes.ALPHABET[digit]
    first17 = "91" + area + body
    return first17 + codes.check_character(first17)


def write_file(path: Path, rows: int, *, seed: int, prefix: str) -> None:
    """A CSV ledger as county offices keep it: a title row, the header with a 序号 column, the
    rows, a closing total and a signature line."""
    rng = random.Random(seed)
    states = [s for s, weight in STATES for _ in range(weight)]
    enterprises = max(rows // 3, 1)
    start = dt.datetime(2021, 1, 4, 8, 0)
    span = (dt.datetime(2025, 12, 20) - start).total_seconds()
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["信阳市企业问题台帐（2021—2025年）"])
        out.writerow(HEADER)
        for n in range(1, rows + 1):
            county = rng.choice(COUNTIES)
            e = rng.randrange(enterprises)
            state = rng.choice(states)
            received = start + dt.timedelta(seconds=rng.randrange(int(span)))
            assigned = received + dt.timedelta(minutes=rng.randrange(30, 60 * 48))
            closed = assigned + dt.timedelta(minutes=rng.randrange(60, 60 * 24 * 20))
            routed, done = state != "已受理", state in ("已解决", "已解释答复")
            due = (received.date() + dt.timedelta(days=rng.randrange(5, 30))).isoformat() if rng.random() < 0.3 else ""
            out.writerow(
                [
                    n,
                    f"{prefix}{county}-{n:07d}",
                    county,
                    f"信阳合成企业{e:06d}有限公司",
                    credit_code(e + 1, county),
                    rng.choice(CATEGORIES),
                    rng.choice(CHANNELS),
                    f"企业反映问题{n}：用工、融资与审批事项，需协调解决。",
                    f"{received:%Y-%m-%d %H:%M}",
                    rng.choice(DEPARTMENTS) if routed else "",
                    f"{assigned:%Y-%m-%d %H:%M}" if routed else "",
                    due,
                    state,
                    f"{closed:%Y-%m-%d %H:%M}" if done else "",
                    "已协调解决并回访企业" if done else "",
                    "；".join(f"材料{k}.pdf" for k in range(rng.randrange(0, 3))) if done else "",
                    "相关政策文件" if state == "已解释答复" else "",
                    "",
                    "联系人",
                    "13800000000",
                    rng.choice(SIZES),
                ]
            )
        out.writerow(["合计", f"{rows}件"])
        out.writerow(["填报人：张三", "", "审核人：李四"])


def children_cpu() -> float:
    """CPU time of this process's ended children (the import's segmenting child, once it has exited)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def server_cpu() -> float | None:
    """CPU seconds the PostgreSQL backend serving this process's connection has used (read from
    /proc: the server runs on this machine); None on SQLite or when /proc does not show it."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def machine_cpu() -> float | None:
    """CPU seconds the whole machine has used (every process: this one, its children, both of
    the import's database connections — the second one ends with the import — and anything else
    running), from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def speed() -> float:
    """Seconds a fixed pure-Python loop takes now: this machine's speed at the moment (a shared
    machine's changes from hour to hour; compare runs by it, not by the clock alone)."""
    started = time.process_time()
    total = 0
    for n in range(5_000_000):
        total += n
    return time.process_time() - started


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run(path: str, write_path: str, profile: str | None = None) -> None:
    """In a child process: import the file, print timings and peak RSS as JSON (with ``profile``,
    under cProfile, its statistics saved to that file)."""
    setup()
    from django.contrib.auth import get_user_model

    from cases.importing import run_import

    user = get_user_model().objects.get(username="bench_city")
    marks: dict[str, float] = {}

    def progress(phase, done, fraction):
        if phase == "validating" and fraction == 1.0:
            marks["validated"] = time.perf_counter()

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    server = server_cpu()
    machine = machine_cpu()
    cpu = time.process_time()
    helpers = children_cpu()
    started = time.perf_counter()
    summary = run_import(path, by=user, dry_run=False, progress=progress, write_path=write_path)
    finished = time.perf_counter()
    cpu = time.process_time() - cpu
    helpers = children_cpu() - helpers
    server = server_cpu() - server if server is not None else None
    machine = machine_cpu() - machine if machine is not None else None
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    print(
        json.dumps(
            {
                "check_s": marks.get("validated", finished) - started,
                "write_s": finished - marks.get("validated", started),
                "total_s": finished - started,
                "rss_mb": peak_rss_mb(),
                "cpu_s": cpu,
                "children_cpu_s": helpers,
                "children_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                "server_cpu_s": server,
                "machine_cpu_s": machine,
                "created": summary["created"],
                "unchanged": summary["unchanged"],
                "errors": summary["errors"][:3],
                "skipped": summary["skipped_count"],
            }
        )
    )


def child(path: Path, write_path: str, profile: str | None = None) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--run", str(path), "--write-path", write_path]
        + (["--profile", profile] if profile else []),
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "DEBUG": "false"},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(label: str, rows: int, result: dict) -> None:
    print(
        f"{label}: created {result['created']}, unchanged {result['unchanged']}, skipped {result['skipped']}, "
        f"errors {result['errors'] or 0}"
    )
    print(
        f"  check {result['check_s']:.1f} s ({rows / result['check_s']:,.0f} rows/s), "
        f"write {result['write_s']:.1f} s ({rows / result['write_s']:,.0f} rows/s), "
        f"whole import {result['total_s']:.1f} s ({rows / result['total_s']:,.0f} rows/s); "
        f"peak RSS {result['rss_mb']:.0f} MB"
    )
    print(
        f"  the importing process's own CPU time {result['cpu_s']:.1f} s (less sensitive to a loaded machine "
        f"than wall time; the database server's work is not in it); load average {load()}"
    )
    if result.get("children_cpu_s"):
        print(
            f"  its segmenting child process's CPU time {result['children_cpu_s']:.1f} s (on the other core), "
            f"peak RSS {result['children_rss_mb']:.0f} MB"
        )
    if result.get("server_cpu_s") is not None:
        spent = result["cpu_s"] + result.get("children_cpu_s", 0) + result["server_cpu_s"]
        print(
            f"  the PostgreSQL backend's CPU time {result['server_cpu_s']:.1f} s; all together {spent:.1f} s "
            f"({rows / spent:,.0f} rows per CPU-second: the rate of one core doing it all)"
        )
    if result.get("machine_cpu_s") is not None:
        print(
            f"  the whole machine's CPU time meanwhile {result['machine_cpu_s']:.1f} s, of "
            f"{(os.cpu_count() or 1) * result['total_s']:.1f} on {os.cpu_count()} cores (the import's second "
            "database connection included; so is anything else running)"
        )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--services-rows", type=int, default=1000, help="rows for the services path (0: skip)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--run")
    parser.add_argument("--write-path", default="bulk")
    parser.add_argument("--profile", help="save the first bulk import's cProfile statistics to this file")
    args = parser.parse_args()
    if args.run:
        run(args.run, args.write_path, args.profile)
        return
    setup()
    from django.core.management import call_command
    from django.db import connection

    from cases.models import Case
    from cases.users import create_user
    from ledger.verify import verify_cases

    call_command("migrate", verbosity=0)
    create_user("bench_city", password="bench-import-2026", role="city_office")
    print(
        f"database {connection.vendor}; {Case.objects.count()} cases before; load average {load()}; "
        f"speed check {speed():.2f} s (a fixed Python loop: higher is a slower machine now)"
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ledger.csv"
        started = time.perf_counter()
        write_file(path, args.rows, seed=args.seed, prefix="B")
        print(
            f"file: {args.rows:,} rows, {path.stat().st_size / 1e6:.1f} MB CSV, generated in "
            f"{time.perf_counter() - started:.1f} s"
        )
        report("bulk import", args.rows, child(path, "bulk", args.profile))
        report("same file again (idempotent by 编号)", args.rows, child(path, "bulk"))
        started = time.perf_counter()
        problems = sum(1 for _ in verify_cases(Case.objects.all()))
        print(
            f"verify_ledger over {Case.objects.count():,} cases: {problems} problems, "
            f"{time.perf_counter() - started:.1f} s"
        )
        print(f"speed check {speed():.2f} s")
        if args.services_rows:
            floor = Path(folder) / "floor.csv"
            write_file(floor, args.services_rows, seed=args.seed + 1, prefix="S")
            report(f"services path (floor), {args.services_rows:,} rows", args.services_rows, child(floor, "services"))


if __name__ == "__main__":
    main()
