"""``manage.py rebuild_routing_model [--region CODE] [--as-of DATE]``: build the routing model of
every region (or one) from its last two years of cases (cases.search.routing_model). Needed once
after migration case_search 0003 on a database that had cases (until then those regions answer
by the slower query path), and after a change of the user dictionary or a restore."""

from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError

from cases.models import Region, local_midnight
from cases.search.routing_model import rebuild


class Command(BaseCommand):
    help = "Rebuild the routing-suggestion model of every region, or of one."

    def add_arguments(self, parser):
        parser.add_argument("--region", help="the region's code (all regions when left out)")
        parser.add_argument("--as-of", help="YYYY-MM-DD: learn only what happened before that day began (default: now)")

    def handle(self, *args, region: str | None, as_of: str | None, **options):
        one = None
        if region:
            one = Region.objects.filter(code=region.strip()).first()
            if one is None:
                raise CommandError(f"No region with the code {region!r}.")
        moment = None
        if as_of:
            try:
                moment = local_midnight(dt.date.fromisoformat(as_of.strip()))
            except ValueError:
                raise CommandError("--as-of must be a date: YYYY-MM-DD.") from None
        started = time.monotonic()
        learned = rebuild(one, as_of=moment)
        self.stdout.write(self.style.SUCCESS(f"learned from {learned} cases in {time.monotonic() - started:.1f} s"))
