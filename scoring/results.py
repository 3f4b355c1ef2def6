"""The year's result: 21 items per region, section subtotals, totals, ranks — and its JSON.

Plain functions over querysets returning plain data, so the pages, the XLSX, the command, the
API and the tests all read the same ``Scoreboard``. A fixed number of queries whatever the
number of cases: the rule set (2), regions (1), the assessment and its entries/overrides (3),
one scan of the ledger for items 15 and 13 (1, plus judging chains
never judged before), item 14 (2), departments (1).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from cases.access import find_region as cases_find_region
from cases.errors import InvalidInput, NotFound
from cases.models import Department, Region

from .item13 import LedgerCompleteness, completeness_from_scan, reverify
from .item14 import NoticeService, notices_for_regions
from .item15 import Timeliness, timeliness_for_regions
from .ladders import ladder, points_str
from .models import Assessment, Item, ItemEntry, Override, RuleSet, Section
from .rulesets import DEFAULT_CODE
from .scope import Scope, make_scope, moment


@dataclass
class ItemScore:
    item: Item
    points: Decimal | None  # what counts: the override, else the computed or entered value
    computed: Decimal | None = None  # automatic items: the value the rules give
    note: str = ""
    entry: ItemEntry | None = None
    override: Override | None = None
    rule_gap: bool = False
    detail: Timeliness | LedgerCompleteness | NoticeService | None = None

    @property
    def number(self) -> int:
        return self.item.number

    @property
    def auto(self) -> bool:
        return self.item.is_automatic


@dataclass
class SectionScore:
    section: Section
    items: list[ItemScore]

    @property
    def subtotal(self) -> Decimal:
        return sum((i.points or Decimal(0) for i in self.items), Decimal(0))


@dataclass
class DepartmentRank:
    department_id: int | None
    name: str
    timeliness: Timeliness
    rank: int | None = None
    points: Decimal | None = None
    rule_gap: bool = False


@dataclass
class RegionScore:
    region: Region
    sections: list[SectionScore]
    items: dict[int, ItemScore]
    total: Decimal = Decimal(0)
    rank: int = 0
    departments: list[DepartmentRank] = field(default_factory=list)

    @property
    def overrides(self) -> list[Override]:
        return [i.override for i in self.items.values() if i.override is not None]


@dataclass
class Scoreboard:
    year: int
    scope: Scope
    rule_set: RuleSet
    assessment: Assessment | None
    regions: list[RegionScore]
    # The assessment's cutoff; ``cutoff`` is the day actually scored (today, before it comes).
    planned_cutoff: dt.date | None = None

    @property
    def cutoff(self) -> dt.date:
        return self.scope.cutoff

    @property
    def as_of_today(self) -> bool:
        return self.scope.as_of_today

    @property
    def ranked(self) -> list[RegionScore]:
        """The regions in rank order (equal ranks by code)."""
        return sorted(self.regions, key=lambda r: (r.rank, r.region.code))

    def region(self, code: str) -> RegionScore:
        for region_score in self.regions:
            if region_score.region.code == code:
                return region_score
        raise NotFound(_("No such region."))

    def as_json(self, region_codes: list[str] | None = None) -> dict:
        regions = self.regions if region_codes is None else [r for r in self.regions if r.region.code in region_codes]
        data = {
            "year": self.year,
            "cutoff": (self.planned_cutoff or self.cutoff).isoformat(),
            "rule_set": self.rule_set.code,
            "regions": [_region_json(r) for r in regions],
        }
        if self.as_of_today:
            # Before the cutoff has passed the score is provisional, as of today (SPEC §6): open
            # cases not yet due are pending. Said in the JSON so no reader takes it for final.
            data["provisional"] = True
            data["as_of"] = self.cutoff.isoformat()
        return data

    def to_bytes(self, region_codes: list[str] | None = None) -> bytes:
        return dumps(self.as_json(region_codes))


def dumps(data: dict) -> bytes:
    """The one serialisation: same data, same bytes."""
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


# -- loading ---------------------------------------------------------------------------------


def find_county(value: str) -> Region:
    """A county by GB/T 2260 code or Chinese name; 404 otherwise (``cases.access.find_region``),
    a blank one too: here a region is named by a URL or a filter, never by a form's field."""
    try:
        return cases_find_region(value, within=Region.objects.filter(level=Region.Level.COUNTY))
    except InvalidInput:
        raise NotFound(_("No such region: %(value)s.") % {"value": (value or "").strip()}) from None


def find_rule_set(code: str | None, assessment: Assessment | None = None) -> RuleSet:
    if not code:
        if assessment is not None:
            return assessment.rule_set
        code = DEFAULT_CODE
    rule_set = RuleSet.objects.filter(code=code).first()
    if rule_set is None:
        raise NotFound(_("No such rule set: %(code)s.") % {"code": code})
    return rule_set


def score_year(
    year: int, *, cutoff: dt.date | None = None, rule_set: str | None = None, today: dt.date | None = None
) -> Scoreboard:
    """Score every county for the year, as the ledger stood at the end of the cutoff day.

    With ``today`` (the pages and the dashboard), a cutoff still ahead is scored as of today
    instead (``scope.moment``): open cases not yet due are pending, never late."""
    assessment = Assessment.objects.select_related("rule_set").filter(year=year).first()
    if cutoff is None and assessment is not None:
        cutoff = assessment.cutoff
    planned = make_scope(year, cutoff).cutoff
    day, as_of_today = moment(year, planned, today)
    scope = make_scope(year, day, as_of_today=as_of_today)
    rules = find_rule_set(rule_set, assessment)
    sections = list(Section.objects.filter(rule_set=rules).order_by("number"))
    items = list(Item.objects.filter(rule_set=rules).order_by("number").prefetch_related("criteria"))
    regions = list(Region.objects.filter(level=Region.Level.COUNTY).order_by("code"))
    region_ids = [r.pk for r in regions]
    entries: dict[tuple[int, int], ItemEntry] = {}
    overrides: dict[tuple[int, int], Override] = {}
    # Entries belong to the assessment and its rule set; scoring under another rule set ignores them.
    if assessment is not None and assessment.rule_set_id == rules.pk:
        for entry in ItemEntry.objects.filter(assessment=assessment).select_related("entered_by"):
            entries[(entry.region_id, entry.item_number)] = entry
        for override in Override.objects.filter(assessment=assessment).select_related("entered_by"):
            overrides[(override.region_id, override.item_number)] = override

    kinds = {item.kind for item in items}
    params = rules.params
    # Chains changed behind the ledger's back are re-hashed before the scan reads their verdicts.
    broken = reverify(region_ids, scope) if Item.Kind.LEDGER in kinds else set()
    timeliness, by_department = timeliness_for_regions(region_ids, scope)
    completeness: dict[int, LedgerCompleteness] = {}
    if Item.Kind.LEDGER in kinds:
        completeness = completeness_from_scan(timeliness, scope, broken)
    notices: dict[int, NoticeService] = {}
    if Item.Kind.NOTICES in kinds:
        notices = notices_for_regions(region_ids, scope)

    automatic: dict[tuple[int, int], ItemScore] = {}
    for region in regions:
        for item in items:
            if item.is_automatic:
                automatic[(region.pk, item.number)] = _score_item(
                    item,
                    params,
                    timeliness.get(region.pk),
                    completeness.get(region.pk),
                    notices.get(region.pk),
                    None,
                )
    result = assemble(regions, sections, items, automatic, entries, overrides)
    board = Scoreboard(
        year=year, scope=scope, rule_set=rules, assessment=assessment, regions=result, planned_cutoff=planned
    )
    _rank_departments(board, by_department, params.get("item15", {}))
    return board


def assemble(
    regions: list[Region],
    sections: list[Section],
    items: list[Item],
    automatic: dict[tuple[int, int], ItemScore],
    entries: dict[tuple[int, int], ItemEntry],
    overrides: dict[tuple[int, int], Override],
) -> list[RegionScore]:
    """Every region's 21 items from the automatic items' computed scores (``automatic``, by
    (region pk, item number)) and the assessors' entries and overrides, with section subtotals,
    totals and ranks. The live scoring and the stored snapshot (``scoring.snapshots``) both end
    here, so an override or an entry counts the same in either."""
    result = []
    for region in regions:
        scored: dict[int, ItemScore] = {}
        for item in items:
            key = (region.pk, item.number)
            if item.is_automatic:
                score = automatic[key]
            else:
                entry = entries.get(key)
                score = (
                    ItemScore(item, None)
                    if entry is None
                    else ItemScore(item, entry.points, note=entry.note, entry=entry)
                )
            overridden = overrides.get(key)
            if overridden is not None and item.is_automatic:
                score.override = overridden
                score.points = overridden.points
                score.note = overridden.reason
            scored[item.number] = score
        section_scores = [
            SectionScore(section, [scored[i.number] for i in items if i.section_id == section.pk])
            for section in sections
        ]
        total = sum((s.subtotal for s in section_scores), Decimal(0))
        result.append(RegionScore(region=region, sections=section_scores, items=scored, total=total))
    _rank(result)
    return result


def _score_item(item: Item, params: dict, timeliness, completeness, notices, entry) -> ItemScore:
    if item.kind == Item.Kind.TIMELINESS:
        timeliness = timeliness or Timeliness()
        rung = timeliness.rung(params.get("item15", {}))
        return ItemScore(item, rung.points, computed=rung.points, rule_gap=rung.rule_gap, detail=timeliness)
    if item.kind == Item.Kind.LEDGER:
        completeness = completeness or LedgerCompleteness()
        points = completeness.points(params.get("item13", {}))
        return ItemScore(item, points, computed=points, detail=completeness)
    if item.kind == Item.Kind.NOTICES:
        notices = notices or NoticeService()
        points = notices.points(params.get("item14", {}))
        return ItemScore(item, points, computed=points, detail=notices)
    if entry is None:
        return ItemScore(item, None)
    return ItemScore(item, entry.points, note=entry.note, entry=entry)


def competition_ranks(keys: list) -> list[int]:
    """Competition ranking, highest first: equal keys share a rank (1, 2, 2, 4)."""
    return [1 + sum(1 for other in keys if other > k) for k in keys]


def shared_ranks(values: list, *, key) -> list[int | None]:
    """``competition_ranks`` of the values' keys, where a key of None is unranked."""
    keys = [key(value) for value in values]
    ranks = iter(competition_ranks([k for k in keys if k is not None]))
    return [None if k is None else next(ranks) for k in keys]


def _rank(regions: list[RegionScore]) -> None:
    # Every region has a total, so every region has a rank.
    for region_score, rank in zip(regions, competition_ranks([r.total for r in regions]), strict=True):
        region_score.rank = rank


def _rank_departments(board: Scoreboard, by_department: dict, params: dict) -> None:
    """Section 二 of the method: each county ranks its departments, here by item 15's exact rate."""
    ids = {pk for departments in by_department.values() for pk in departments if pk is not None}
    names = dict(Department.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    for region_score in board.regions:
        rows = []
        for department_id, timeliness in by_department.get(region_score.region.pk, {}).items():
            if department_id is None:
                continue  # not with a department at the cutoff (received or returned)
            row = DepartmentRank(department_id, names.get(department_id, str(department_id)), timeliness)
            if not timeliness.not_assessable:
                rung = ladder(timeliness.rate, params)
                row.points, row.rule_gap = rung.points, rung.rule_gap
            rows.append(row)
        for row, rank in zip(rows, shared_ranks(rows, key=lambda r: r.timeliness.rate), strict=True):
            row.rank = rank
        rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.name))
        region_score.departments = rows


# -- JSON --------------------------------------------------------------------------------------


def _item_json(score: ItemScore) -> dict:
    data: dict = {"points": points_str(score.points), "max": points_str(score.item.max_points), "auto": score.auto}
    detail = score.detail
    if isinstance(detail, LedgerCompleteness):
        data.update(
            {
                "complete": detail.complete,
                "total": detail.total,
                "rate": detail.rate_text,
                "incomplete": [{"number": number, "missing": list(missing)} for number, missing in detail.incomplete],
            }
        )
    elif isinstance(detail, NoticeService):
        data.update(
            {
                "schedule": detail.schedule,
                "periods_due": len(detail.periods_due),
                "periods_served": len(detail.periods_served),
                "missing_periods": list(detail.missing_periods),
            }
        )
    elif isinstance(detail, Timeliness):
        data.update(
            {
                "counted": detail.counted,
                "on_time": detail.on_time,
                "rate": detail.rate_text,
                "rule_gap": score.rule_gap,
                "not_assessable": detail.not_assessable,
                "late": detail.late,
                "pending": list(detail.pending),
            }
        )
    else:
        data["note"] = score.note
    return data


def _override_json(override: Override) -> dict:
    return {
        "item": str(override.item_number),
        "computed": points_str(override.computed_points),
        "points": points_str(override.points),
        "reason": override.reason,
        "by": override.entered_by.get_username(),
        "at": override.entered_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
    }


def _region_json(region_score: RegionScore) -> dict:
    return {
        "code": region_score.region.code,
        "name": region_score.region.name,
        "rank": region_score.rank,
        "total": points_str(region_score.total),
        "items": {str(number): _item_json(score) for number, score in sorted(region_score.items.items())},
        "overrides": [_override_json(o) for o in sorted(region_score.overrides, key=lambda o: o.item_number)],
    }
