"""The evidence for scoresheet item 14 (问题处理公开通报), SPEC §6.

Periods due are the periods of the schedule's frequency that lie in the year and end on or before
the cutoff (whatever the schedule's start date). A due period is served when a notice for it was
issued — in the system or registered offline — to all three recipient groups, on or before the
last day of the following period and on or before the cutoff. A superseded notice still counts,
on its own issue date. The scoring app turns this into points; this module only finds the facts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from . import periods
from .models import EVER_ISSUED_STATES, Notice, NoticeSchedule


@dataclass(frozen=True)
class Item14Evidence:
    schedule: str | None  # "monthly" | "quarterly" | None when the region has no schedule (as of the cutoff)
    periods_due: list[str] = field(default_factory=list)
    periods_served: list[str] = field(default_factory=list)
    missing_periods: list[str] = field(default_factory=list)
    notices: dict[str, list[int]] = field(default_factory=dict)  # period -> ids of the notices considered
    # As of today (before the cutoff): ended periods not served yet whose notice may still go out
    # in time (the next period has not ended) — neither due nor missing yet.
    periods_pending: list[str] = field(default_factory=list)


def _schedule_in_force(schedule: NoticeSchedule | None, cutoff: dt.date) -> NoticeSchedule | None:
    # A schedule whose stated start lies after the cutoff did not exist yet as of the cutoff.
    if schedule is None or (schedule.start_date is not None and schedule.start_date > cutoff):
        return None
    return schedule


def _serves(notice: Notice, period: periods.Period, cutoff: dt.date) -> bool:
    if notice.status not in EVER_ISSUED_STATES or notice.issued_on is None:
        return False
    deadline = min(period.next().end, cutoff)
    return notice.issued_on <= deadline and notice.reached_all_groups


def _evaluate(
    schedule: NoticeSchedule | None, notices: list[Notice], year: int, cutoff: dt.date, as_of_today: bool = False
) -> Item14Evidence:
    schedule = _schedule_in_force(schedule, cutoff)
    if schedule is None:
        return Item14Evidence(schedule=None)
    ended = [p for p in periods.in_year(year, schedule.frequency) if p.end <= cutoff]
    by_period: dict[str, list[Notice]] = {p.key: [] for p in ended}
    for notice in notices:
        if notice.period in by_period:
            by_period[notice.period].append(notice)
    served_set = {p.key for p in ended if any(_serves(n, p, cutoff) for n in by_period[p.key])}
    # "As of today" the day is still running: a notice issued by the end of the next period is in
    # time, so an unserved period whose next period has not ended yet is pending, not missing.
    pending = [p for p in ended if as_of_today and p.key not in served_set and p.next().end >= cutoff]
    due = [p for p in ended if p not in pending]
    return Item14Evidence(
        schedule=schedule.frequency,
        periods_due=[p.key for p in due],
        periods_served=[p.key for p in due if p.key in served_set],
        missing_periods=[p.key for p in due if p.key not in served_set],
        notices={key: [n.pk for n in found] for key, found in by_period.items()},
        periods_pending=[p.key for p in pending],
    )


def _notices_considered(region_ids: list[int], year: int):
    """Every notice ever issued or registered for a period of the year (both frequencies)."""
    keys = [p.key for f in periods.FREQUENCIES for p in periods.in_year(year, f)]
    return (
        Notice.objects.filter(region_id__in=region_ids, period__in=keys, status__in=EVER_ISSUED_STATES)
        .only("id", "region_id", "period", "status", "issued_on", "groups")
        .order_by("issued_on", "id")
    )


def item14_evidence(region, year: int, cutoff: dt.date, *, as_of_today: bool = False) -> Item14Evidence:
    """Item 14's facts for one region (a Region or its pk) for year ``year`` as of ``cutoff``."""
    return item14_evidence_for_regions([region], year, cutoff, as_of_today=as_of_today)[getattr(region, "pk", region)]


def item14_evidence_for_regions(
    regions: Iterable, year: int, cutoff: dt.date, *, as_of_today: bool = False
) -> dict[int, Item14Evidence]:
    """{region pk: evidence} for many regions in two queries (schedules, notices). ``as_of_today``:
    ``cutoff`` is today, before the assessment's cutoff (see ``_evaluate``)."""
    region_ids = [getattr(r, "pk", r) for r in regions]
    schedules = {s.region_id: s for s in NoticeSchedule.objects.filter(region_id__in=region_ids)}
    notices: dict[int, list[Notice]] = {pk: [] for pk in region_ids}
    for notice in _notices_considered(region_ids, year):
        notices[notice.region_id].append(notice)
    return {pk: _evaluate(schedules.get(pk), notices[pk], year, cutoff, as_of_today) for pk in region_ids}
