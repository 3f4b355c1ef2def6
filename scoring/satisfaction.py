"""Item 21 from the follow-ups (回访, SPEC §4a): each region's satisfaction rate, shown beside the
scores and offered as item 21's figure.

The rate is (满意 + 基本满意) / all, over the follow-ups recorded in the year — every answer the
enterprises gave, so a case answered 不满意, reopened and answered 满意 after its second closing
counts both (the same follow-ups the satisfaction-by-month chart shows). The rule set's item-21
ladder gives the points it would earn, with the 80–85% range the 2012 text leaves unscored flagged as for item 15. The
participation rule (participating enterprises at least the county's 规模以上 enterprises) is for
the assessors to enter: the survey's figures come from them, not from the ledger.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from django.db.models import Count

from cases.models import FollowUp, Region

from .ladders import ladder, rate_str
from .scope import local_zone


@dataclass(frozen=True)
class FollowUpRate:
    satisfied: int = 0
    basically_satisfied: int = 0
    dissatisfied: int = 0

    @property
    def total(self) -> int:
        return self.satisfied + self.basically_satisfied + self.dissatisfied

    @property
    def content(self) -> int:
        return self.satisfied + self.basically_satisfied

    @property
    def rate(self) -> Fraction | None:
        return Fraction(self.content, self.total) if self.total else None

    @property
    def rate_text(self) -> str | None:
        return rate_str(self.content, self.total)

    @property
    def fraction_text(self) -> str:
        """ "186/200": what the item-21 form takes as the rate."""
        return f"{self.content}/{self.total}" if self.total else ""

    def points(self, params: dict) -> tuple[Decimal | None, bool]:
        """Item 21's points for this rate on the ladder (None without follow-ups), and whether
        the rate lies in the gap the 2012 text leaves unscored."""
        rate = self.rate
        if rate is None or not params.get("ladder"):
            return None, False
        rung = ladder(rate, params)
        return rung.points, rung.rule_gap


def satisfaction_for_regions(regions: Iterable[Region], year: int) -> dict[int, FollowUpRate]:
    """{region pk: FollowUpRate} of the follow-ups recorded in ``year`` (local) — one query."""
    ids = [r.pk for r in regions]
    start, end = dt.datetime(year, 1, 1, tzinfo=local_zone()), dt.datetime(year + 1, 1, 1, tzinfo=local_zone())
    counts: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    rows = (
        FollowUp.objects.filter(case__region_id__in=ids, recorded_at__gte=start, recorded_at__lt=end)
        .values("case__region_id", "satisfaction")
        .annotate(n=Count("id"))
        .values_list("case__region_id", "satisfaction", "n")
        .order_by()
    )
    for region_id, answer, n in rows:
        counts[region_id][answer] = n
    return {
        pk: FollowUpRate(c.get("satisfied", 0), c.get("basically_satisfied", 0), c.get("dissatisfied", 0))
        for pk, c in counts.items()
    }


def total_of(rates: Iterable[FollowUpRate]) -> FollowUpRate:
    rates = list(rates)
    return FollowUpRate(
        sum(r.satisfied for r in rates), sum(r.basically_satisfied for r in rates), sum(r.dissatisfied for r in rates)
    )


def for_display(rate: FollowUpRate, params: dict) -> dict:
    """What the scoring pages show beside the scores (item 21's ladder from the rule set)."""
    points, gap = rate.points(params)
    return {
        "rate": rate.rate_text,
        "content": rate.content,
        "total": rate.total,
        "fraction": rate.fraction_text,
        "points": points,
        "rule_gap": gap,
    }


def board_follow_ups(board) -> dict[int, dict]:
    """{region pk: for_display(…)} for a scoreboard's regions — one query."""
    params = board.rule_set.params.get("item21", {})
    rates = satisfaction_for_regions([r.region for r in board.regions], board.year)
    return {pk: for_display(rate, params) for pk, rate in rates.items()}
