"""A tiny WSGI app for the bounded-queue worker's test: /slow takes a while, /healthz answers at once."""

import time


def application(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(float(environ.get("QUERY_STRING") or 1))
        body = b"done"
    else:
        body = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
