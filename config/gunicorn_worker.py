"""gunicorn's threaded worker with a bounded queue: under overload a clear 503, never a reset.

gunicorn's ``gthread`` worker accepts every connection and queues its requests for the thread
pool without limit: past what two cores can serve, every request waits longer and longer, the
health probe with them, and clients that give up see their connections dropped. This worker
(``worker_class`` in ``deploy/gunicorn.conf.py``) adds, per worker process:

* **a bound on the queue**: when ``max_queue`` requests already wait for a thread, the next one is
  answered at once ``503`` with ``Retry-After`` and the page "系统繁忙，请稍后再试" (JSON for
  ``/api/``), on the connection it came on, which stays open (keep-alive);
* **a bound on the wait**: a request that waited longer than ``max_wait`` seconds for a thread is
  answered the same 503 instead of being served late (its user has likely clicked again);
* **a lane for the probe**: ``GET /healthz`` and the 503 answers are served by a thread of their
  own, so the load balancer's probe and the "busy" answer never wait behind slow pages;
* **connections spread over the processes**: every process polls the shared listening socket and
  the first to call ``accept`` gets the connection, which then stays with it (keep-alive) — one
  process took 27 of 48 connections and another 7. A process waits before it accepts, longer the
  more connections it holds (``ACCEPT_DELAY_PER_CONNECTION``), so the emptier ones win the race.

Behind nginx, ``limit_conn`` (deploy/nginx/caseledger.conf) answers 503 before this worker does;
this is the same rule where no nginx is in front (the load test, a single machine) and the last
line of defence behind it. Settings: ``GUNICORN_MAX_QUEUE`` (default 24 per worker, why in
deploy/gunicorn.conf.py) and ``GUNICORN_MAX_QUEUE_SECONDS`` (default 5), from the environment.
"""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent import futures

from gunicorn.http import wsgi
from gunicorn.workers.gthread import ThreadWorker

PROBE_PREFIX = b"GET /healthz"
BUSY_TEXT = "系统繁忙，请稍后再试（约 5 秒）。"
BUSY_PAGE = (
    f'<!doctype html><html lang="zh-Hans"><meta charset="utf-8"><title>系统繁忙</title><p>{BUSY_TEXT}</p></html>'
).encode()
BUSY_JSON = json.dumps({"detail": BUSY_TEXT}, ensure_ascii=False).encode()
RETRY_AFTER_SECONDS = 5
# Seconds a process waits before accepting, per connection it holds (at most ACCEPT_DELAY_MAX): the
# 17 connections of a process serving a third of 50 users make it ~4 ms slower to the next one. The
# wait is in the main loop, which also picks up kept-alive connections' next requests: kept small,
# so that a burst of new connections (nginx opening upstream ones past its keepalive pool) costs
# every process a few milliseconds each, not tens.
ACCEPT_DELAY_PER_CONNECTION = 0.00025
ACCEPT_DELAY_MAX = 0.005


def queue_limits() -> tuple[int, float]:
    """(max requests waiting per worker, max seconds a request may wait), from the environment."""
    return int(os.environ.get("GUNICORN_MAX_QUEUE", 24)), float(os.environ.get("GUNICORN_MAX_QUEUE_SECONDS", 5))


def busy_response(path: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """The 503 this worker answers when it sheds a request: status, headers, body."""
    api = path.startswith("/api/")
    body = BUSY_JSON if api else BUSY_PAGE
    headers = [
        ("Content-Type", "application/json" if api else "text/html; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Retry-After", str(RETRY_AFTER_SECONDS)),
        ("Cache-Control", "no-store"),
    ]
    return "503 Service Unavailable", headers, body


class QueueState:
    """How many requests wait for a thread of the pool; thread-safe, shared by one worker."""

    def __init__(self, max_queue: int, max_wait: float):
        self.max_queue = max_queue
        self.max_wait = max_wait
        self.waiting = 0
        self.shed = 0
        # Why the last request was shed (for the log line that names it: the bound or the wait).
        self.last_reason = ""
        self._lock = threading.Lock()

    def admit(self) -> bool:
        """Count a request in the queue, or refuse it when the queue is full."""
        with self._lock:
            if self.waiting >= self.max_queue:
                self.shed += 1
                self.last_reason = f"queue full ({self.waiting} waiting)"
                return False
            self.waiting += 1
            return True

    def started(self, queued_at: float) -> bool:
        """A thread took a queued request: False when it waited too long to be worth serving."""
        with self._lock:
            self.waiting -= 1
            waited = time.monotonic() - queued_at
            if waited > self.max_wait:
                self.shed += 1
                self.last_reason = f"waited {waited:.1f} s for a thread"
                return False
            return True


class BoundedQueueThreadWorker(ThreadWorker):
    def init_process(self):
        self.queue = QueueState(*queue_limits())
        self.fast_lane = futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="probe")
        super().init_process()

    def accept(self, server, listener):
        # (nr_conns is changed by several threads without a lock: never a negative sleep)
        delay = min(max(0, self.nr_conns) * ACCEPT_DELAY_PER_CONNECTION, ACCEPT_DELAY_MAX)
        if delay and self.cfg.workers > 1:
            time.sleep(delay)  # the main thread: running requests go on; another process may accept it
        super().accept(server, listener)  # EAGAIN (another process took it) is ignored there

    def enqueue_req(self, conn):
        conn.init()
        conn.answer_busy = False
        if self._is_probe(conn):
            fs = self.fast_lane.submit(self.handle, conn)
        elif self.queue.admit():
            queued_at = time.monotonic()
            fs = self.tpool.submit(self._handle_queued, conn, queued_at)
        else:
            conn.answer_busy = self.queue.last_reason
            fs = self.fast_lane.submit(self.handle, conn)
        self._wrap_future(fs, conn)

    def _handle_queued(self, conn, queued_at: float):
        conn.answer_busy = False if self.queue.started(queued_at) else self.queue.last_reason
        return self.handle(conn)

    def _is_probe(self, conn) -> bool:
        """The request waiting on this connection is the health probe (read without consuming it)."""
        if self.cfg.is_ssl:
            return False
        import socket

        try:
            head = conn.sock.recv(len(PROBE_PREFIX), socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except OSError:
            return False
        return head == PROBE_PREFIX

    def handle_request(self, req, conn):
        reason = getattr(conn, "answer_busy", False)
        if not reason:
            return super().handle_request(req, conn)
        conn.answer_busy = False
        return self._answer_busy(req, conn, reason)

    def _answer_busy(self, req, conn, reason) -> bool:
        """503 with Retry-After on the request's own connection, kept open when the client keeps it."""
        # Which bound shed it (the error log; the access log shows the 503 itself).
        self.log.warning("busy 503 for %s %s: %s", req.method, req.path, reason)
        resp, environ = wsgi.create(req, conn.sock, conn.client, conn.server, self.cfg)
        status, headers, body = busy_response(req.path or "")
        started = time.monotonic()
        if not self.alive or not self.cfg.keepalive:
            resp.force_close()
        resp.start_response(status, headers)
        resp.write(body)
        resp.close()
        self.log.access(resp, req, environ, _timedelta(time.monotonic() - started))
        return not resp.should_close()

    def handle_quit(self, sig, frame):
        self.fast_lane.shutdown(wait=False)
        super().handle_quit(sig, frame)


def _timedelta(seconds: float):
    import datetime as dt

    return dt.timedelta(seconds=seconds)
