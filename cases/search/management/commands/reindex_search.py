"""``manage.py reindex_search``: rebuild every case's search row (after a bulk load that wrote
cases without ``index_cases``, a change of the user dictionary, or a restore)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from cases.search.index import index_cases


class Command(BaseCommand):
    help = "Rebuild the full-text search index of every case."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=2000, help="cases written per statement")

    def handle(self, *args, batch: int, **options):
        started = time.monotonic()
        with transaction.atomic():
            written = index_cases(batch=max(1, batch))
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:  # merge FTS5's segments after a bulk write
                cursor.execute("INSERT INTO case_search_fts(case_search_fts) VALUES ('optimize')")
        self.stdout.write(self.style.SUCCESS(f"indexed {written} cases in {time.monotonic() - started:.1f} s"))
