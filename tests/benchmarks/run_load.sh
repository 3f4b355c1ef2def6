#!/usr/bin/env bash
# The load test in one go: start the app as deploy/ runs it (gunicorn with deploy/gunicorn.conf.py,
# a Celery worker for "timers", one for "imports,default", one beat), run locust headless, print
# the table (p50/p95/p99 per request, /healthz as the floor), the load average, the web processes'
# RSS, the connection resets and the 503s (with the bound that shed them, from gunicorn's log), the
# CPU each part took (web, Celery, PostgreSQL, locust), run verify_ledger, and stop everything it started.
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/caseledger_load REDIS_URL=redis://127.0.0.1:6379/14 \
#       tests/benchmarks/run_load.sh [USERS=50] [DURATION=60s] [SPAWN_RATE=10]
#
# It runs tests/benchmarks/load_setup.py first (migrate, generate LOAD_CASES=100000 cases in
# LOAD_YEAR (default this year) when fewer exist, the load accounts and their sessions).
# Environment: LOAD_USERS (the accounts file, /tmp/caseledger_load_users.json), PORT (8100),
# OUT (where locust's CSV files go, /tmp/caseledger_load), GUNICORN_WORKERS/THREADS/... as in
# deploy/gunicorn.conf.py. Exit status: 0 when locust saw no failure and verify_ledger is clean.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PY=$ROOT/.venv/bin

USERS=${1:-50}
DURATION=${2:-60s}
SPAWN_RATE=${3:-10}
PORT=${PORT:-8100}
OUT=${OUT:-/tmp/caseledger_load}
LOAD_USERS=${LOAD_USERS:-/tmp/caseledger_load_users.json}
: "${DATABASE_URL:?set DATABASE_URL (PostgreSQL; cases are generated into it when missing)}"
: "${REDIS_URL:?set REDIS_URL (the load test runs Celery on Redis, as deploy/ does)}"

export DATABASE_URL REDIS_URL LOAD_USERS
export DEBUG=false
export SECRET_KEY=${SECRET_KEY:-$(python3 -c "import secrets; print(secrets.token_urlsafe(64))")}
export GUNICORN_BIND=127.0.0.1:$PORT
mkdir -p "$OUT"
LOGS=$OUT/logs
mkdir -p "$LOGS"

PIDS=()
stop_all() {
    # Only what this script started: each by its process id (gunicorn's master stops its workers,
    # a Celery worker its pool), then wait for them.
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}
trap stop_all EXIT INT TERM

# The accounts and their signed-in sessions, made with this run's SECRET_KEY (a session signed with
# another key is refused and the user sent to the login page). Idempotent: generates cases only
# when fewer than LOAD_CASES exist in LOAD_YEAR.
"$PY/python" tests/benchmarks/load_setup.py --cases "${LOAD_CASES:-100000}" ${LOAD_YEAR:+--year "$LOAD_YEAR"} \
    --out "$LOAD_USERS"
"$PY/python" manage.py collectstatic --noinput -v0
"$PY/gunicorn" -c deploy/gunicorn.conf.py config.wsgi >"$LOGS/gunicorn.log" 2>&1 &
PIDS+=($!)
# The Celery workers as deploy/systemd runs them (tests/deploy checks that they agree): the same
# concurrency, at Nice=10 below the web.
nice -n 10 "$PY/celery" -A config worker --queues timers -c 2 -n "loadtimers$PORT@%h" --loglevel WARNING \
    >"$LOGS/timers.log" 2>&1 &
PIDS+=($!)
nice -n 10 "$PY/celery" -A config worker --queues imports,default -c 4 -n "loadjobs$PORT@%h" --loglevel WARNING \
    >"$LOGS/jobs.log" 2>&1 &
PIDS+=($!)
"$PY/celery" -A config beat --loglevel WARNING --schedule "$OUT/celerybeat-schedule" >"$LOGS/beat.log" 2>&1 &
PIDS+=($!)

for _ in $(seq 1 60); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz"; then break; fi
    sleep 1
done
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" || { echo "gunicorn did not answer /healthz" >&2; cat "$LOGS/gunicorn.log" >&2; exit 1; }

echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) cores)"
echo "== gunicorn: $("$PY/python" -c "
import runpy; c = runpy.run_path('deploy/gunicorn.conf.py')
print(f\"{c['workers']} workers × {c['threads']} threads, worker_class {c.get('worker_class', 'gthread' if c['threads'] > 1 else 'sync')}, backlog {c['backlog']}\")")"
echo "== locust: $USERS users, spawn rate $SPAWN_RATE/s, $DURATION"
DBNAME=$("$PY/python" -c "import sys, urllib.parse; print(urllib.parse.urlparse(sys.argv[1]).path.strip('/'))" "$DATABASE_URL")
cpu_parts() {
    "$PY/python" tests/benchmarks/cpu_parts.py "$DBNAME" "web=${PIDS[0]}" "celery=${PIDS[1]},${PIDS[2]},${PIDS[3]}"
}
CPU_BEFORE=$(cpu_parts)
set +e
TIMEFORMAT="%U %S"
{ time "$PY/locust" -f tests/benchmarks/locustfile.py --headless -u "$USERS" -r "$SPAWN_RATE" -t "$DURATION" \
    --host "http://127.0.0.1:$PORT" --csv "$OUT/load" --only-summary --loglevel WARNING \
    >"$LOGS/locust.log" 2>&1 ; } 2>"$OUT/locust_cpu"
LOCUST_RC=$?
set -e
CPU_AFTER=$(cpu_parts)
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY/python" - "$CPU_BEFORE" "$CPU_AFTER" "$(cat "$OUT/locust_cpu")" "$DURATION" <<'EOF'
import json, re, sys

before, after = json.loads(sys.argv[1]), json.loads(sys.argv[2])
spent = {part: after[part] - before.get(part, 0) for part in after}
spent["locust"] = sum(float(x) for x in sys.argv[3].split())
unit = {"s": 1, "m": 60, "h": 3600}
match = re.fullmatch(r"(\d+)([smh]?)", sys.argv[4])
seconds = int(match.group(1)) * unit[match.group(2) or "s"] if match else 0
shares = ", ".join(f"{part} {cpu:.1f} s ({cpu / seconds:.2f} cores)" if seconds else f"{part} {cpu:.1f} s" for part, cpu in spent.items())
print(f"== CPU during the run: {shares}")
EOF
echo "== web RSS (MB): $(ps -o rss= --ppid "${PIDS[0]}" | awk '{printf "%d ", $1/1024}')(workers), master $(ps -o rss= -p "${PIDS[0]}" | awk '{printf "%d", $1/1024}')"

"$PY/python" - "$OUT/load_stats.csv" "$OUT/load_failures.csv" "$LOGS/gunicorn.log" <<'EOF'
import csv
import sys

rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
print(f"{'request':38} {'n':>6} {'fail':>5} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>6} {'req/s':>6}")
for row in rows:
    name = row["Name"] if row["Name"] != "Aggregated" else "ALL"
    print(
        f"{name[:38]:38} {row['Request Count']:>6} {row['Failure Count']:>5} {row['50%']:>6} {row['95%']:>6} "
        f"{row['99%']:>6} {float(row['Max Response Time']):>6.0f} {float(row['Requests/s']):>6.1f}"
    )
failures = list(csv.DictReader(open(sys.argv[2], encoding="utf-8")))
resets = sum(int(f["Occurrences"]) for f in failures if "reset" in f["Error"].lower() or "aborted" in f["Error"].lower())
busy = sum(int(f["Occurrences"]) for f in failures if "503" in f["Error"])
print(f"connection resets: {resets}; 503 busy answers: {busy}")
for failure in failures:
    print(f"  failure x{failure['Occurrences']}: {failure['Method']} {failure['Name']}: {failure['Error'][:160]}")

# The server's side (gunicorn's access log, deploy/gunicorn.conf.py's format ends with the time in
# ms): per path and status, how many and how long, the queue's wait not included.
import collections
import re

served = collections.defaultdict(list)
for line in open(sys.argv[3], encoding="utf-8", errors="replace"):
    match = re.search(r'"(GET|POST) (\S+) HTTP/[\d.]+" (\d{3}) .* (\d+)ms$', line)
    if match:
        path = re.sub(r"/\d+(?=/|$)", "/N", match.group(2).split("?")[0])
        served[(match.group(1), path, match.group(3))].append(int(match.group(4)))
print(f"\nserver side (gunicorn access log): {'request':40} {'status':>6} {'n':>6} {'p50':>6} {'p95':>6} {'max':>6}")
for (method, path, status), times in sorted(served.items(), key=lambda item: -len(item[1])):
    times.sort()
    print(
        f"{'':35}{method + ' ' + path:41} {status:>6} {len(times):>6} {times[len(times) // 2]:>6} "
        f"{times[int(len(times) * 0.95)]:>6} {times[-1]:>6}"
    )
per_process = collections.Counter(
    match.group(1)
    for line in open(sys.argv[3], encoding="utf-8", errors="replace")
    if (match := re.search(r" <(\d+)> \d+ms$", line))
)
if per_process:
    print("requests per web process: " + ", ".join(f"{pid} {n}" for pid, n in sorted(per_process.items())))
shed = collections.Counter(
    re.sub(r"\d+(\.\d+)?", "N", line.split(": ", 2)[-1].strip())
    for line in open(sys.argv[3], encoding="utf-8", errors="replace")
    if "busy 503 for" in line
)
for reason, count in shed.most_common():
    print(f"503 busy from the bounded queue x{count}: {reason}")
login_redirects = sum(len(t) for (m, p, s), t in served.items() if m == "GET" and s == "302")
if login_redirects:
    print(f"WARNING: {login_redirects} answers were redirects (to the login page?): sessions not signed in")
EOF
stop_all
echo "== verify_ledger"
set +e
"$PY/python" manage.py verify_ledger
VERIFY_RC=$?
set -e
echo "(locust exit $LOCUST_RC, verify_ledger exit $VERIFY_RC; CSV and logs in $OUT)"
[ "$LOCUST_RC" -eq 0 ] && [ "$VERIFY_RC" -eq 0 ]
