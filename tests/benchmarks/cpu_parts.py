"""CPU seconds taken so far by the load test's parts, for run_load.sh to print the difference over a run.

    python cpu_parts.py DBNAME web=PID celery=PID,PID,PID  → one JSON line {part: seconds}

A part is its processes and all their descendants (gunicorn's workers, Celery's pool); "postgres"
is every PostgreSQL backend serving DBNAME (its process title names the database). Linux only
(/proc). Processes that ended between two readings are not counted.
"""

from __future__ import annotations

import json
import os
import sys

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def readings(database: str, parts: dict[str, list[int]]) -> dict[str, float]:
    procs = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            procs[int(entry)] = stat
    children: dict[int, list[int]] = {}
    for pid, (parent, _cpu) in procs.items():
        children.setdefault(parent, []).append(pid)
    result = {}
    for name, roots in parts.items():
        seen, todo = set(), [pid for pid in roots if pid in procs]
        while todo:
            pid = todo.pop()
            if pid not in seen:
                seen.add(pid)
                todo.extend(children.get(pid, []))
        result[name] = round(sum(procs[pid][1] for pid in seen), 2)
    marker = f" {database} "
    result["postgres"] = round(
        sum(cpu for pid, (_p, cpu) in procs.items() if marker in _cmdline(pid) and "postgres:" in _cmdline(pid)), 2
    )
    return result


if __name__ == "__main__":
    database, *specs = sys.argv[1:]
    parts = {spec.split("=")[0]: [int(p) for p in spec.split("=")[1].split(",") if p] for spec in specs}
    print(json.dumps(readings(database, parts)))
