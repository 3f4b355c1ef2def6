"""Item 14 — periodic notices (问题处理公开通报), SPEC §6, from the notices app's evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from notices.evidence import item14_evidence_for_regions

from .scope import Scope


@dataclass
class NoticeService:
    schedule: str | None = None
    periods_due: list[str] = field(default_factory=list)
    periods_served: list[str] = field(default_factory=list)
    missing_periods: list[str] = field(default_factory=list)
    notices: dict[str, list[int]] = field(default_factory=dict)
    periods_pending: list[str] = field(default_factory=list)  # as of today: still within their issuing window

    def points(self, params: dict) -> Decimal:
        if self.schedule is None:
            return Decimal(params.get("none_points", "0"))
        if not self.missing_periods:
            return Decimal(params.get("full_points", "4"))
        return Decimal(params.get("schedule_points", "2"))


def notices_for_regions(region_ids: list[int], scope: Scope) -> dict[int, NoticeService]:
    # The notices app owns the facts; scoring only turns them into points.
    evidence = item14_evidence_for_regions(region_ids, scope.year, scope.cutoff, as_of_today=scope.as_of_today)
    result = {}
    for pk in region_ids:
        found = evidence.get(pk)
        if found is None:
            result[pk] = NoticeService()
            continue
        result[pk] = NoticeService(
            schedule=found.schedule,
            periods_due=list(found.periods_due),
            periods_served=list(found.periods_served),
            missing_periods=list(found.missing_periods),
            notices=dict(found.notices),
            periods_pending=list(found.periods_pending),
        )
    return result
