"""What a fresh web process would otherwise pay on its first requests, done before it serves any.

A gunicorn worker that has just loaded the app spends ~0.4 s of CPU on its first page (the URL
patterns, the Chinese catalogue, each template compiled on first use) and ~0.4 s more on the first
case page that suggests departments (jieba's dictionary): at the load test's start, 50 users
signing in within five seconds queued behind three cold processes and were answered 503 "busy";
every ``max_requests`` restart repeats it. ``warm_up`` (deploy/gunicorn.conf.py's
``post_worker_init``) does it all once, before the worker accepts a connection.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template
from django.urls import get_resolver, reverse
from django.utils import translation

# Templates of these apps are compiled; Django's admin and the API's browsable pages are not.
PROJECT_APPS = ("cases", "cases.search", "ledger", "notifications", "notices", "scoring", "desk")
# Third-party templates every list page renders.
LIBRARY_TEMPLATES = ("django_tables2/table.html",)


def project_templates() -> list[str]:
    """Names of the project's own templates (templates/ and each project app's templates/)."""
    folders = [Path(folder) for folder in settings.TEMPLATES[0]["DIRS"]]
    folders += [Path(config.path) / "templates" for config in apps.get_app_configs() if config.name in PROJECT_APPS]
    names = set()
    for folder in folders:
        if folder.is_dir():
            names.update(str(path.relative_to(folder)) for path in folder.rglob("*.html"))
    return sorted(names)


def warm_up() -> int:
    """Load what the first requests would: returns how many templates were compiled."""
    get_resolver().url_patterns  # noqa: B018 - imports every view module and builds the patterns
    reverse("cases:ledger")
    with translation.override(settings.LANGUAGE_CODE):
        translation.gettext("Ledger")  # the catalogues of every app, merged once per process
        compiled = 0
        for name in (*project_templates(), *LIBRARY_TEMPLATES):
            try:
                get_template(name)
            except (TemplateDoesNotExist, TemplateSyntaxError):
                continue  # a fragment meant to be included with what it extends, or not there
            compiled += 1
    from cases.search.segment import tokenizer

    tokenizer()
    return compiled


# The garbage collector of a serving process once the app is loaded: what exists then (Django, the
# apps, their modules and settings: over 100,000 objects) lives as long as the process, so it is
# frozen out of every later collection; and young objects are collected every 10,000 allocations
# instead of 700, so that a page's thousands of short-lived rows and strings die before a collection
# sees them. A full collection over the unfrozen heap paused both threads of a process for ~100 ms
# every minute or so under load; generation 1 collections cost ~1 ms per request (measured with
# gc.callbacks over the load test's requests).
GC_THRESHOLD = tuple(int(n) for n in os.environ.get("GUNICORN_GC_THRESHOLD", "10000,20,100").split(","))


def settle() -> None:
    """After ``warm_up``: what gunicorn's ``post_worker_init`` does last, and the page benchmarks
    do to time pages as a serving process answers them."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
