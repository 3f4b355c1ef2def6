"""The outlook (SPEC §6): before the cutoff, what still decides a county's section three.

Item 15 is taken as of today with the same facts the provisional score uses (``Scope`` with
``as_of_today``: an open case due before today is late, one due today or later is pending). The
pending cases that matter are those due on or before the assessment's cutoff: each will be counted
at the cutoff, on time if it closes by its due date, late otherwise. With ``C`` cases counted today,
``T`` of them on time and ``n`` pending, closing ``k`` pending cases on time gives the exact rate
``(T + k) / (C + n)`` at the cutoff; the rule set's ladder (its gap and below-points included)
turns that into points. ``steps[p]`` is the least ``k`` whose rate earns at least ``p`` points,
worked out with fractions, ``None`` when even ``k = n`` does not.

Pending cases due after the cutoff are left out, as item 15 leaves them out (the contract's
``best`` is every listed case closing on time).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from django.utils.translation import gettext as _

from cases.errors import InvalidInput
from cases.models import OPEN_STATES, Case, Region
from notices.evidence import item14_evidence
from notices.periods import parse as parse_period

from . import snapshots
from .item13 import completeness_from_scan, reverify
from .item15 import Timeliness, timeliness_for_regions
from .ladders import Rung, fraction_or_none, ladder, points_str, rate_str
from .models import Assessment
from .results import find_rule_set
from .scope import make_scope, moment


@dataclass(frozen=True)
class PendingCase:
    pk: int
    number: str
    due_date: dt.date
    department_id: int | None
    department: str
    state: str
    enterprise: str


@dataclass(frozen=True)
class Value:
    points: Decimal
    rate: Fraction | None
    rule_gap: bool = False
    on_time: int = 0
    counted: int = 0

    @property
    def rate_text(self) -> str | None:
        return rate_str(self.on_time, self.counted)

    def as_json(self) -> dict:
        return {"points": points_str(self.points), "rate": self.rate_text, "rule_gap": self.rule_gap}


@dataclass
class Item14Outlook:
    schedule: str | None
    periods_due_by_cutoff: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # missing and past the last day its notice counts
    next_due: dt.date | None = None
    next_period: str | None = None


@dataclass
class Outlook:
    year: int
    region: Region
    as_of: dt.date
    cutoff: dt.date
    final: bool  # the cutoff has come: nothing is pending any more
    now: Value
    best: Value
    worst: Value
    pending: list[PendingCase]
    steps: dict[str, int | None]
    pending_after_cutoff: int
    incomplete: list[tuple[str, list[str]]]
    item14: Item14Outlook
    # Read from the stored scores (``stored_outlook``): when they were computed, and why they may
    # be behind the ledger ('' if not known to be). None: scored live on this request.
    computed_at: dt.datetime | None = None
    stale: str = ""

    def as_json(self) -> dict:
        return {
            "year": self.year,
            "region": self.region.code,
            "as_of": self.as_of.isoformat(),
            "cutoff": self.cutoff.isoformat(),
            "final": self.final,
            # When the stored scores read were computed (None: scored live on this request).
            "computed_at": self.computed_at.isoformat() if self.computed_at else None,
            "item15": {
                "counted": self.now.counted,
                "on_time": self.now.on_time,
                "points": points_str(self.now.points),
                "rate": self.now.rate_text,
                "rule_gap": self.now.rule_gap,
                "pending": [
                    {
                        "number": p.number,
                        "due_date": p.due_date.isoformat(),
                        "department": p.department,
                        "state": p.state,
                    }
                    for p in self.pending
                ],
                "pending_after_cutoff": self.pending_after_cutoff,
                "best": self.best.as_json(),
                "worst": self.worst.as_json(),
                "steps": dict(self.steps),
            },
            "item13": {
                "incomplete": [{"number": number, "missing": list(missing)} for number, missing in self.incomplete]
            },
            "item14": {
                "schedule": self.item14.schedule,
                "periods_due_by_cutoff": list(self.item14.periods_due_by_cutoff),
                "missing": list(self.item14.missing),
                "lost": list(self.item14.lost),
                "next_due": self.item14.next_due.isoformat() if self.item14.next_due else None,
            },
        }

    @property
    def keep_points(self) -> int | None:
        """Pending cases that must close on time to keep today's points (None: out of reach)."""
        return self.steps.get(points_str(self.now.points))


# -- the arithmetic ----------------------------------------------------------------------------


def rungs(params: dict) -> list[tuple[Fraction, Decimal]]:
    """(least rate, points) of every rung of the ladder, the gap and the floor."""
    found = [(Fraction(Decimal(threshold)), Decimal(points)) for threshold, points in params["ladder"]]
    if params.get("gap_from") is not None:
        found.append((Fraction(Decimal(params["gap_from"])), Decimal(params["gap_points"])))
    found.append((Fraction(0), Decimal(params.get("below_points", "0"))))
    return found


def value_at(on_time: int, counted: int, params: dict) -> Value:
    """Item 15's points for ``on_time`` of ``counted``; none counted → below-points (not assessable)."""
    if not counted:
        return Value(Decimal(params.get("below_points", "0")), None)
    rung: Rung = ladder(Fraction(on_time, counted), params)
    return Value(rung.points, Fraction(on_time, counted), rung.rule_gap, on_time, counted)


def fewest_on_time(on_time: int, counted: int, pending: int, params: dict) -> dict[str, int | None]:
    """For every points value the ladder gives, the fewest of ``pending`` cases that must close on
    time so that ``(on_time + k) / (counted + pending)`` earns at least that (None: not even all)."""
    total = counted + pending
    steps: dict[str, int | None] = {}
    every = rungs(params)
    floor = Decimal(params.get("below_points", "0"))
    for points in sorted({p for _t, p in every}, reverse=True):
        if total == 0:
            need: int | None = 0 if points <= floor else None
        else:
            # The least k with (on_time + k) / total >= threshold is ceil(threshold·total − on_time).
            need = min(max(0, math.ceil(threshold * total - on_time)) for threshold, p in every if p >= points)
            if need > pending:
                need = None
        steps[points_str(points)] = need
    return steps


# -- the facts ---------------------------------------------------------------------------------


def planned_cutoff(year: int, cutoff: dt.date | None) -> tuple[dt.date, Assessment | None]:
    assessment = Assessment.objects.select_related("rule_set").filter(year=year).first()
    if cutoff is None and assessment is not None:
        cutoff = assessment.cutoff
    return make_scope(year, cutoff).cutoff, assessment


def _pending_cases(
    region: Region, numbers: list[str], *, start: dt.datetime, today: dt.date, cutoff: dt.date
) -> tuple[list[PendingCase], int]:
    """The pending cases due from today to the cutoff, by due date; and how many are due later.

    One query: the region's open cases of the year due today or later (the case row holds the
    ledger's present due date and department); only those item 15's scan found pending are kept."""
    wanted = set(numbers)
    rows = (
        Case.objects.filter(region=region, state__in=OPEN_STATES, received_at__gte=start, due_date__gte=today)
        .select_related("department", "enterprise")
        .order_by("due_date", "number")
    )
    listed, later = [], 0
    for case in rows:
        if case.number not in wanted:
            continue
        if case.due_date > cutoff:
            later += 1
            continue
        listed.append(
            PendingCase(
                case.pk,
                case.number,
                case.due_date,
                case.department_id,
                case.department.name if case.department_id else "",
                case.state,
                case.enterprise.name,
            )
        )
    return listed, later


def _item14(region: Region, year: int, cutoff: dt.date, today: dt.date) -> Item14Outlook:
    """Periods due by the cutoff, those without a notice that serves them yet, and by when the
    first still-servable one must go out (its notice counts until the next period ends, and never
    after the cutoff)."""
    evidence = item14_evidence(region, year, cutoff)
    result = Item14Outlook(
        schedule=evidence.schedule,
        periods_due_by_cutoff=list(evidence.periods_due),
        missing=list(evidence.missing_periods),
    )
    for key in evidence.missing_periods:
        period = parse_period(key)
        last_day = min(period.next().end, cutoff)
        if last_day < today:
            result.lost.append(key)
        elif result.next_due is None or last_day < result.next_due:
            result.next_due, result.next_period = last_day, key
    return result


def outlook_for(
    region: Region, year: int, *, today: dt.date, cutoff: dt.date | None = None, rule_set: str | None = None
) -> Outlook:
    """The region's outlook for ``year`` seen on ``today`` (to the assessment's cutoff, or
    ``cutoff``), scored live: item 15's scan of the county's ledger (what ``stored_outlook`` reads
    from the snapshot instead)."""
    _begun(year, today)
    planned, assessment = planned_cutoff(year, cutoff)
    params = find_rule_set(rule_set, assessment).params.get("item15", {})
    day, as_of_today = moment(year, planned, today)
    scope = make_scope(year, day, as_of_today=as_of_today)
    broken = reverify([region.pk], scope)
    timeliness: Timeliness = timeliness_for_regions([region.pk], scope)[0][region.pk]
    completeness = completeness_from_scan({region.pk: timeliness}, scope, broken)[region.pk]
    item15 = (timeliness.on_time, timeliness.counted, timeliness.pending)
    return _outlook(region, year, day, as_of_today, planned, params, item15, completeness.incomplete)


def stored_outlook(region: Region, year: int, *, today: dt.date) -> Outlook:
    """The outlook of the default question (the assessment's cutoff and rule set) from the stored
    scores (``scoring.snapshots``), as the scoreboard reads them: items 15 and 13 as the snapshot
    found them, as of the day it was computed for, with its time (``computed_at``) and why it may
    be behind (``stale``); the pending cases' rows and item 14's periods are read as they are now
    (two small indexed reads). For the same ledger the numbers are those ``outlook_for`` gives.
    Scored live when the snapshot holds no item 15 or 13 for the county (a rule set without them)."""
    _begun(year, today)
    stored = snapshots.outlook_facts(year, region.code, today=today)
    if stored is None:
        return outlook_for(region, year, today=today)
    snapshot, q = stored.snapshot, stored.question
    result = _outlook(
        region,
        year,
        snapshot.as_of,
        snapshot.as_of_today,
        q.planned,
        q.rule_set.params.get("item15", {}),
        (stored.on_time, stored.counted, stored.pending),
        stored.incomplete,
    )
    result.computed_at, result.stale = snapshot.computed_at, stored.stale
    return result


def _begun(year: int, today: dt.date) -> None:
    if today < dt.date(year, 1, 1):
        raise InvalidInput(_("The year %(year)d has not begun yet.") % {"year": year}, field="year")


def _outlook(
    region: Region,
    year: int,
    day: dt.date,
    as_of_today: bool,
    planned: dt.date,
    params: dict,
    item15: tuple[int, int, list[str]],
    incomplete,
) -> Outlook:
    """The outlook from item 15's facts (on time, counted, the pending numbers) and item 13's
    incomplete cases for the region as of ``day``."""
    on_time, counted, numbers = item15
    if as_of_today:
        start = make_scope(year, day, as_of_today=True).start
        pending, later = _pending_cases(region, numbers, start=start, today=day, cutoff=planned)
    else:
        pending, later = [], len(numbers)
    n = len(pending)
    return Outlook(
        year=year,
        region=region,
        as_of=day,
        cutoff=planned,
        final=not as_of_today,
        now=value_at(on_time, counted, params),
        best=value_at(on_time + n, counted + n, params),
        worst=value_at(on_time, counted + n, params),
        pending=pending,
        steps=fewest_on_time(on_time, counted, n, params),
        pending_after_cutoff=later,
        incomplete=[(number, list(missing)) for number, missing in incomplete],
        item14=_item14(region, year, planned, day),
    )


# -- in words ----------------------------------------------------------------------------------


def sentence(outlook: Outlook) -> str:
    """The one sentence a 主任 reads."""
    n = len(outlook.pending)
    now = points_str(outlook.now.points)
    if outlook.final:
        return _("The cutoff has passed: item 15 stands at %(points)s points.") % {"points": now}
    if n == 0:
        return _(
            "No open case falls due before the cutoff: item 15 stays at %(points)s points unless a closing changes."
        ) % {"points": now}
    keep = outlook.keep_points
    if keep is None:
        return _(
            "%(n)d cases still open fall due by the cutoff; even if all close on time item 15 reaches at most "
            "%(best)s points (now %(points)s)."
        ) % {"n": n, "best": points_str(outlook.best.points), "points": now}
    if keep == 0:  # "at least 0 on time" reads as a riddle on a tired evening
        text = _(
            "%(n)d cases still open fall due by the cutoff; item 15 keeps %(points)s points even if all of them "
            "are late."
        ) % {"n": n, "points": now}
    else:
        text = _(
            "%(n)d cases still open fall due by the cutoff; at least %(k)d closed on time keep %(points)s points."
        ) % {"n": n, "k": keep, "points": now}
    higher = [(Decimal(p), k) for p, k in outlook.steps.items() if k is not None and Decimal(p) > outlook.now.points]
    if higher:
        points, k = max(higher)
        text += _(" %(k)d on time would raise it to %(points)s points.") % {"k": k, "points": points_str(points)}
    return text


def fraction_text(value: Value) -> str:
    rate = fraction_or_none(value.on_time, value.counted)
    return "—" if rate is None else f"{value.on_time}/{value.counted}"
