"""The live, provisional score of the current year shown on the dashboard.

Read from the year's stored snapshot (``scoring.snapshots``), never scored on the page view: the
snapshot is refreshed off the request (the beat task, or the embedded timers) and the dashboard
says when it was computed. The rows are kept in the cache for a minute; a new snapshot, an entry
or an override drops them.
"""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache
from django.utils import timezone

from cases.models import local_date

from .models import Assessment
from .scope import make_scope, moment
from .services import readable_region_codes
from .snapshots import provisional_key, stored_board

CACHE_SECONDS = 60


def provisional_for_user(user, *, now: dt.datetime) -> dict | None:
    """{year, cutoff, as_of_today, computed_at, regions: [{code, name, rank, total, section_three,
    item15}]} for what the user may read."""
    codes = readable_region_codes(user)
    if codes == []:
        return None
    today = local_date(now)
    year = today.year
    key = provisional_key(year)
    kept = cache.get(key)
    if kept is not None:
        # The assessment's cutoff as the rows were made: creating the assessment forgets them.
        planned = kept["planned"]
    else:
        assessment = Assessment.objects.filter(year=year).only("cutoff").first()
        planned = assessment.cutoff if assessment else make_scope(year).cutoff
    # The same moment as the scoring pages (``scope.moment``): today before the cutoff.
    cutoff, as_of_today = moment(year, planned, today)
    if kept is None or kept["day"] != cutoff.isoformat() or kept["as_of_today"] != as_of_today:
        # The dashboard does not compare the ledger's state (the scoreboard does): the snapshot is
        # at most one refresh interval behind, as the cache was.
        stored = stored_board(year, today=today, check_marks=False)
        kept = {
            "planned": planned,
            "day": cutoff.isoformat(),
            "as_of_today": as_of_today,
            "as_of": stored.board.cutoff,
            "as_of_today_stored": stored.board.as_of_today,
            "computed_at": stored.snapshot.computed_at,
            "rows": [
                {
                    "code": r.region.code,
                    "name": r.region.name,
                    "rank": r.rank,
                    "total": str(r.total),
                    "section_three": str(sum((r.items[n].points or 0 for n in (13, 14, 15) if n in r.items), 0)),
                    "item15": str(r.items[15].points) if 15 in r.items and r.items[15].points is not None else "",
                }
                for r in stored.board.ranked
            ],
        }
        cache.set(key, kept, CACHE_SECONDS)
    rows = kept["rows"]
    if codes is not None:
        rows = [row for row in rows if row["code"] in codes]
    return {
        "year": year,
        "cutoff": kept["as_of"],
        "as_of_today": kept["as_of_today_stored"],
        "computed_at": timezone.localtime(kept["computed_at"]),
        "regions": rows,
    }
