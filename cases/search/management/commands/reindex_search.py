"""``manage.py reindex_search``: rebuild every case's search row (after a bulk load that wrote
cases without ``index_cases``, a change of the user dictionary, or a restore)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.db import connection

from cases.search.index import index_cases


class Command(BaseCommand):
    help = "Rebuild the full-text search index of every case."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=2000, help="cases written per statement")

    def handle(self, *args, batch: int, **options):
        started = time.monotonic()
        # Each batch commits on its own (index_cases): its cases are locked while it is written,
        # not for the whole rebuild; a rebuild stopped half-way leaves every row whole, and is
        # simply run again.
        written = index_cases(batch=max(1, batch))
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:  # merge FTS5's segments after a bulk write
                cursor.execute("INSERT INTO case_search_fts(case_search_fts) VALUES ('optimize')")
        self.stdout.write(self.style.SUCCESS(f"indexed {written} cases in {time.monotonic() - started:.1f} s"))
