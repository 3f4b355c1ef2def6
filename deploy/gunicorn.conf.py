"""gunicorn settings for Case Ledger (used by compose and the systemd unit)."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 2))
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
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Limits matching nginx: a request line or header this large is refused before Django sees it.
limit_request_line = 8190
