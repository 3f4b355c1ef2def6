"""A tiny WSGI app for the bounded-queue worker's tests: /slow takes a while, /pid names the worker
process, /healthz answers at once."""

import os
import time


def application(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(float(environ.get("QUERY_STRING") or 1))
        body = b"done"
    elif environ["PATH_INFO"] == "/pid":
        body = str(os.getpid()).encode()
    else:
        body = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
