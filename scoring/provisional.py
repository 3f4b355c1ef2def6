"""The live, provisional score of the current year shown on the dashboard.

Scoring a whole year reads every case's ledger, so the dashboard keeps the result for a few
minutes (the cache) instead of scoring on every page view; the scoreboard itself is always live.
"""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache

from cases.models import local_date

from .models import Assessment
from .results import score_year
from .scope import make_scope, moment
from .services import readable_region_codes

CACHE_SECONDS = 600


def provisional_for_user(user, *, now: dt.datetime) -> dict | None:
    """{year, cutoff, regions: [{code, name, rank, total, section_three}]} for what the user may read."""
    codes = readable_region_codes(user)
    if codes == []:
        return None
    today = local_date(now)
    year = today.year
    assessment = Assessment.objects.filter(year=year).only("cutoff").first()
    # The same moment as the scoring pages (``scope.moment``): today before the cutoff.
    planned = assessment.cutoff if assessment else make_scope(year).cutoff
    cutoff, as_of_today = moment(year, planned, today)
    key = f"scoring:provisional:{year}:{cutoff.isoformat()}:{int(as_of_today)}"
    rows = cache.get(key)
    if rows is None:
        board = score_year(year, cutoff=planned, today=today)
        rows = [
            {
                "code": r.region.code,
                "name": r.region.name,
                "rank": r.rank,
                "total": str(r.total),
                "section_three": str(sum((r.items[n].points or 0 for n in (13, 14, 15) if n in r.items), 0)),
                "item15": str(r.items[15].points) if 15 in r.items and r.items[15].points is not None else "",
            }
            for r in board.ranked
        ]
        cache.set(key, rows, CACHE_SECONDS)
    if codes is not None:
        rows = [row for row in rows if row["code"] in codes]
    return {"year": year, "cutoff": cutoff, "as_of_today": as_of_today, "regions": rows}
