"""gunicorn settings for Case Ledger (used by compose and the systemd unit)."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Cores + 1 processes of 2 threads: the pages are CPU in Python (one request per process at a time
# holds the GIL), and PostgreSQL shares the same cores; a thread more per process overlaps a
# query's wait. More processes than that only add queueing for the CPU and PostgreSQL connections
# (workers × threads each, CONN_MAX_AGE keeps them open). Measured by tests/benchmarks/run_load.sh.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 2))
# gthread with a bounded queue (config/gunicorn_worker.py): past GUNICORN_MAX_QUEUE requests waiting
# per process, or GUNICORN_MAX_QUEUE_SECONDS waited, a request gets an immediate 503 with
# Retry-After, and /healthz is served by a lane of its own, never behind slow pages.
# Sized per process for how clients come: each (a browser, the load test's user, nginx's upstream
# connection) keeps its connection to the process that accepted it and sends the next request once
# it has the answer, so a process's queue never exceeds its connections − threads. 50 users hold
# ~17 connections per process: the accept is a race, which a process holding more connections
# joins later (config/gunicorn_worker.py; without that one process took 27 of 48). A bound of 24
# leaves room for what evenness misses; 150 users (~50 per process) get an immediate 503.
# The wait bound (GUNICORN_MAX_QUEUE_SECONDS) sheds what the count lets through when pages slow down.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "config.gunicorn_worker.BoundedQueueThreadWorker")
# A runaway query cannot hold a web thread: PostgreSQL cancels a statement after this many seconds
# and the page answers 503 (config/settings.py, config/middleware.py). gthread's heartbeat comes
# from the main thread, so gunicorn's own timeout never stops a thread stuck in a query.
os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT_SECONDS", "30")
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))  # large XLSX exports stream; imports run as tasks
graceful_timeout = 30
# A short accept queue: under overload nginx's limit_conn answers 503 first (deploy/README.md,
# "Overload"); what still arrives waits here briefly instead of piling up for seconds.
backlog = int(os.environ.get("GUNICORN_BACKLOG", 64))
# An idle keep-alive connection is closed by the server only after the client (nginx's upstream
# keepalive, 60 s) would have dropped it: gunicorn's default of 2 s closes connections a client
# is just reusing, which the client sees as "connection reset by peer" (measured by the load test).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 75))
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
# The combined format, the worker's pid (how the load spreads over the processes) and the time each
# request took (ms), to find the slow ones under load.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(p)s %(M)sms'
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Limits matching nginx: a request line or header this large is refused before Django sees it.
limit_request_line = 8190


# The garbage collector, per worker once the app is loaded (config/warmup.py, ``settle``): what exists
# then lives as long as the process, so it is frozen out of every later collection, and young
# objects are collected every 10,000 allocations instead of 700. GUNICORN_GC_THRESHOLD=700,10,10
# restores Python's default.


def post_worker_init(worker):
    # First what the first requests would load (config/warmup.py), so that it is frozen too.
    from config.warmup import settle, warm_up

    try:
        warm_up()
    except Exception:  # noqa: BLE001 - a warm-up can only be skipped: a failing page fails on its own
        worker.log.exception("warm-up skipped")
    settle()
