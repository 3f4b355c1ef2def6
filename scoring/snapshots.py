"""The stored scores: a year's automatic items computed off the request, read by the pages.

Scoring a year reads every case's ledger: seconds at a million cases. The dashboard, the
scoreboard and the scores API read a ``ScoreSnapshot`` instead — the automatic items (13, 14,
15) of every county as last computed — and lay the assessors' current entries and overrides
over it (``results.assemble``, the same code the live scoring ends in), so the totals and ranks
are those the live scoring gives for the same ledger, and an entry shows at once.

When it is computed:
- by ``refresh_due`` every ``SCORE_SNAPSHOT_INTERVAL_SECONDS``: the beat task
  ``scoring.tasks.refresh_snapshots`` with Celery, the ``run_timers`` round in the embedded
  default (``notifications.signals.timers_tick``). A snapshot is refreshed only when what it read
  has changed (``marks``: the ledger's last entry, the notices, the rule set), when the day it is
  scored as of has passed, or when it is older than ``SCORE_SNAPSHOT_MAX_AGE_SECONDS``;
- soon after a case changes, with Celery: ``case_changed`` queues one refresh a minute at most;
- on the request only when there is no snapshot yet (compute once and store), or when the stored
  one is stale and its year is small (at most ``SCORE_SNAPSHOT_INLINE_CASES`` cases), where
  scoring costs less than the page. A large year's stale snapshot is shown with its time
  ("计算于 HH:MM") until the next refresh.

A question other than the default (another cutoff or rule set) is scored live, as before.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, Func, IntegerField, Max
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from cases.models import Region, local_date
from ledger.models import LedgerEntry
from notices.models import Notice, NoticeSchedule

from .item13 import LedgerCompleteness
from .item14 import NoticeService
from .item15 import Timeliness
from .ladders import points_str
from .models import (
    Assessment,
    AuditEvent,
    Item,
    ItemEntry,
    Override,
    RuleSet,
    ScoreSnapshot,
    Section,
    SnapshotFacts,
)
from .results import DepartmentRank, Scoreboard, _item_json, _override_json, assemble, dumps, find_rule_set, score_year
from .results import ItemScore as _ItemScore
from .scope import make_scope, moment

log = logging.getLogger(__name__)


def interval_seconds() -> int:
    return int(getattr(settings, "SCORE_SNAPSHOT_INTERVAL_SECONDS", 300))


def max_age_seconds() -> int:
    return int(getattr(settings, "SCORE_SNAPSHOT_MAX_AGE_SECONDS", 3600))


def inline_cases() -> int:
    return int(getattr(settings, "SCORE_SNAPSHOT_INLINE_CASES", 2000))


@dataclass
class StoredDetail:
    """What the pages show of an automatic item's detail without its case lists."""

    rate_text: str | None = None


@dataclass(frozen=True)
class Question:
    """The default question of a year: its assessment's rule set and cutoff, as of ``day``."""

    year: int
    rule_set: RuleSet
    assessment: Assessment | None
    planned: dt.date
    day: dt.date
    as_of_today: bool


def question(year: int, today: dt.date | None = None) -> Question:
    assessment = Assessment.objects.select_related("rule_set").filter(year=year).first()
    planned = make_scope(year, assessment.cutoff if assessment else None).cutoff
    day, as_of_today = moment(year, planned, today if today is not None else local_date(timezone.now()))
    return Question(year, find_rule_set(None, assessment), assessment, planned, day, as_of_today)


def current_marks(rule_set: RuleSet) -> dict:
    """The state of what the automatic items read, in three small queries: the ledger's last entry
    (entries are append-only), the notices and schedules (item 14), the rule set's parameters."""
    last_entry = LedgerEntry.objects.aggregate(last=Max("pk"))["last"] or 0
    notices = Notice.objects.aggregate(n=Count("pk"), u=Max("updated_at"), i=Max("issued_at"), s=Max("superseded_at"))
    schedules = NoticeSchedule.objects.aggregate(n=Count("pk"), u=Max("updated_at"))
    rules = hashlib.sha256(json.dumps(rule_set.params, sort_keys=True).encode()).hexdigest()[:16]
    return {
        "ledger": last_entry,
        "notices": [
            notices["n"],
            _iso(notices["u"]),
            _iso(notices["i"]),
            _iso(notices["s"]),
            schedules["n"],
            _iso(schedules["u"]),
        ],
        "rules": f"{rule_set.pk}:{rule_set.version}:{rules}",
    }


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _find(q: Question, *, full: bool = False) -> ScoreSnapshot | None:
    found = ScoreSnapshot.objects.filter(year=q.year, rule_set=q.rule_set, cutoff=q.planned)
    if not full:
        found = found.defer("detail")
    return found.first()


def stale_reason(snapshot: ScoreSnapshot | None, q: Question, marks: dict | None = None, *, now=None) -> str:
    """Why the snapshot no longer answers the question ('' when it does)."""
    if snapshot is None:
        return "missing"
    if snapshot.as_of != q.day or snapshot.as_of_today != q.as_of_today:
        return "day"
    now = now or timezone.now()
    if (now - snapshot.computed_at).total_seconds() > max_age_seconds():
        return "age"
    if marks is not None and marks != snapshot.marks:
        return "changed"
    return ""


# -- computing -------------------------------------------------------------------------------------


def refresh(year: int, *, today: dt.date | None = None, force: bool = True) -> ScoreSnapshot:
    """Score the year's default question and store it (``force=False``: only if stale)."""
    q = question(year, today)
    marks = current_marks(q.rule_set)
    if not force:
        existing = _find(q)
        if existing is not None and not stale_reason(existing, q, marks):
            return existing
    started = time.perf_counter()
    computed_at = timezone.now()
    board = score_year(year, today=q.day if q.as_of_today else None)
    summary: dict[str, dict] = {}
    detail: dict[str, dict] = {}
    facts: dict[str, dict] = {}
    for region_score in board.regions:
        code = region_score.region.code
        summary[code], detail[code] = {}, {}
        facts[code] = {
            **{
                f"item:{number}": _detail_facts(score.detail)
                for number, score in region_score.items.items()
                if score.auto and score.detail is not None
            },
            "departments": [
                {
                    "id": d.department_id,
                    "name": d.name,
                    "timeliness": _detail_facts(d.timeliness),
                    "rank": d.rank,
                    "points": None if d.points is None else str(d.points),
                    "rule_gap": d.rule_gap,
                }
                for d in region_score.departments
            ],
        }
        for number, score in region_score.items.items():
            if not score.auto:
                continue
            summary[code][str(number)] = {
                "computed": points_str(score.computed),
                "rule_gap": score.rule_gap,
                "rate": getattr(score.detail, "rate_text", None),
            }
            data = _item_json(score)
            data.pop("points")
            # The item's JSON text after its points: the points (an override may change them)
            # are put in front when the bytes are assembled, giving what json.dumps gives.
            detail[code][str(number)] = dumps(data).decode("utf-8")[1:]
    # The cases the year's scoring read (item 15's scope): what decides whether a stale snapshot
    # may be scored again on a page view (SCORE_SNAPSHOT_INLINE_CASES).
    case_count = sum(
        score.detail.in_scope
        for r in board.regions
        for score in r.items.values()
        if isinstance(score.detail, Timeliness)
    )
    values = {
        "as_of": q.day,
        "as_of_today": q.as_of_today,
        "computed_at": computed_at,
        "took_ms": int((time.perf_counter() - started) * 1000),
        "case_count": case_count,
        "marks": marks,
        "summary": summary,
        "detail": json.dumps(detail, ensure_ascii=False),
    }
    try:
        with transaction.atomic():
            snapshot, _created = ScoreSnapshot.objects.update_or_create(
                year=year, rule_set=q.rule_set, cutoff=q.planned, defaults=values
            )
            _store_facts(snapshot, facts)
    except IntegrityError:  # another process stored it meanwhile: ours is as good, write it over
        with transaction.atomic():
            snapshot = ScoreSnapshot.objects.select_for_update().get(year=year, rule_set=q.rule_set, cutoff=q.planned)
            for name, value in values.items():
                setattr(snapshot, name, value)
            snapshot.save()
            _store_facts(snapshot, facts)
    forget(year)
    return snapshot


def _detail_facts(detail) -> dict:
    """An automatic item's detail as JSON: every field the pages and exports read (item 15's
    per-case records for item 13 are the scoring's working state, not shown, and left out)."""
    if isinstance(detail, Timeliness):
        return {
            "kind": "timeliness",
            "on_time": detail.on_time,
            "closed_late": list(detail.closed_late),
            "open_late": list(detail.open_late),
            "pending": list(detail.pending),
            "judged_complete": detail.judged_complete,
        }
    if isinstance(detail, LedgerCompleteness):
        return {
            "kind": "ledger",
            "total": detail.total,
            "incomplete": [[number, list(missing)] for number, missing in detail.incomplete],
        }
    if isinstance(detail, NoticeService):
        return {
            "kind": "notices",
            "schedule": detail.schedule,
            "periods_due": list(detail.periods_due),
            "periods_served": list(detail.periods_served),
            "missing_periods": list(detail.missing_periods),
            "notices": {key: list(ids) for key, ids in detail.notices.items()},
            "periods_pending": list(detail.periods_pending),
        }
    raise TypeError(f"no stored form for {type(detail).__name__}")


def _restore(data: dict):
    """The detail object ``_detail_facts`` stored: equal to the one the live scoring built."""
    kind = data["kind"]
    if kind == "timeliness":
        # The decoded lists as they are (freshly decoded, owned by nobody else): no copy per case.
        return Timeliness(
            on_time=data["on_time"],
            closed_late=data["closed_late"],
            open_late=data["open_late"],
            pending=data["pending"],
            judged_complete=data["judged_complete"],
        )
    if kind == "ledger":
        # [number, lacks] pairs: read as the (number, lacks) tuples of the live scoring.
        return LedgerCompleteness(total=data["total"], incomplete=data["incomplete"])
    return NoticeService(
        schedule=data["schedule"],
        periods_due=list(data["periods_due"]),
        periods_served=list(data["periods_served"]),
        missing_periods=list(data["missing_periods"]),
        notices={key: list(ids) for key, ids in data["notices"].items()},
        periods_pending=list(data["periods_pending"]),
    )


def _store_facts(snapshot: ScoreSnapshot, facts: dict[str, dict]) -> None:
    """The snapshot's facts as rows (in the caller's transaction with the snapshot's own row)."""
    SnapshotFacts.objects.filter(snapshot=snapshot).delete()
    SnapshotFacts.objects.bulk_create(
        SnapshotFacts(snapshot=snapshot, region_code=code, part=part, data=data)
        for code, parts in facts.items()
        for part, data in parts.items()
    )


def _unpack(value: dict) -> dict:
    """A county's stored facts as ``_board`` reads them: {"items": {number: facts}, "departments": […]}."""
    return {
        "items": {key.removeprefix("item:"): part for key, part in value.items() if key.startswith("item:") and part},
        "departments": value.get("departments") or [],
    }


def region_facts(snapshot: ScoreSnapshot, codes: list[str] | None, parts: list[str] | None = None) -> dict[str, dict]:
    """The stored facts of the counties ``codes`` (None: every county), only the ``parts`` given
    ("item:15", "departments"; None: all): one indexed query reading only those rows."""
    rows = SnapshotFacts.objects.filter(snapshot=snapshot)
    if codes is not None:
        rows = rows.filter(region_code__in=codes)
    if parts is not None:
        rows = rows.filter(part__in=parts)
    found: dict[str, dict] = {}
    for code, part, data in rows.values_list("region_code", "part", "data"):
        found.setdefault(code, {})[part] = data
    return {code: _unpack(value) for code, value in found.items()}


class _JSONArrayLength(Func):
    """The length of a JSON array, counted by the database (nothing of the array is sent)."""

    function = "jsonb_array_length"
    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="json_array_length", **extra_context)


@dataclass
class OutlookFacts:
    """What the outlook reads of one county's stored items 15 and 13 (``outlook_facts``)."""

    question: Question
    snapshot: ScoreSnapshot
    stale: str  # why it may be behind the ledger ('' if not known to be)
    on_time: int
    counted: int  # on time, closed late and open late: item 15's denominator
    pending: list[str]  # the pending cases' numbers
    incomplete: list  # item 13's [number, lacks] pairs


def outlook_facts(year: int, code: str, *, today: dt.date | None = None) -> OutlookFacts | None:
    """The default question's stored item 15 and item 13 of the county ``code``, as much as the
    outlook reads (the snapshot computed here only as ``stored_board`` would): item 15's on-time
    count, the lengths of its late lists (counted by the database: at a million cases they are tens
    of thousands of numbers the outlook never shows) and its pending numbers; item 13's incomplete
    cases. None when the rule set or the snapshot holds no such item for the county."""
    q = question(year, today)
    snapshot, reason = _usable(q, today=today, check_marks=True)
    numbers = dict(
        Item.objects.filter(rule_set=q.rule_set, kind__in=[Item.Kind.TIMELINESS, Item.Kind.LEDGER]).values_list(
            "kind", "number"
        )
    )
    if len(numbers) != 2:
        return None
    rows = SnapshotFacts.objects.filter(snapshot=snapshot, region_code=code)
    timeliness = (
        rows.filter(part=f"item:{numbers[Item.Kind.TIMELINESS]}", data__kind="timeliness")
        .annotate(
            closed_late=_JSONArrayLength(KeyTransform("closed_late", "data")),
            open_late=_JSONArrayLength(KeyTransform("open_late", "data")),
        )
        .values_list("data__on_time", "closed_late", "open_late", "data__pending")
        .first()
    )
    ledger = (
        rows.filter(part=f"item:{numbers[Item.Kind.LEDGER]}", data__kind="ledger")
        .values_list("data__incomplete", flat=True)
        .first()
    )
    if timeliness is None or ledger is None:
        return None
    on_time, closed_late, open_late, pending = timeliness
    return OutlookFacts(q, snapshot, reason, on_time, on_time + closed_late + open_late, pending, ledger)


def provisional_key(year: int) -> str:
    return f"scoring:provisional:{year}"


def forget(year: int) -> None:
    """Drop the dashboard's cached rows of the year (a new snapshot, an entry or an override)."""
    cache.delete(provisional_key(year))


def refresh_due(*, today: dt.date | None = None) -> list[int]:
    """Refresh every snapshot that is stale, and this year's (the beat task and the timers).
    Returns the years refreshed. A frozen year's automatic items are those of its cutoff: its
    snapshot is scored again only for a new day (the first after the cutoff), not for later
    changes of the ledger."""
    today = today or local_date(timezone.now())
    frozen = set(Assessment.objects.filter(frozen_at__isnull=False).values_list("year", flat=True))
    years = {today.year} | set(ScoreSnapshot.objects.values_list("year", flat=True).distinct())
    done = []
    for year in sorted(years):
        q = question(year, today)
        reason = stale_reason(_find(q), q, current_marks(q.rule_set))
        if reason and not (year in frozen and reason in ("changed", "age")):
            refresh(year, today=today)
            done.append(year)
    return done


# -- reading ---------------------------------------------------------------------------------------


@dataclass
class StoredBoard:
    board: Scoreboard
    snapshot: ScoreSnapshot
    stale: str  # why it may be behind the ledger ('' if not known to be)
    question: Question | None = None


EVERY = "*"


def stored_board(
    year: int,
    *,
    today: dt.date | None = None,
    check_marks: bool = True,
    facts: list[str] | str | None = None,
    parts: list[str] | None = None,
) -> StoredBoard:
    """The year's scoreboard from its snapshot with today's entries and overrides: what
    ``score_year(year, today=today)`` gives, without reading the ledger (see the module's doc for
    when the snapshot is computed on the request).

    ``facts``: the counties (codes, or ``EVERY``) whose automatic items carry their full detail
    (the case numbers by class, the periods, the departments' ranking) as the live scoring gives
    it; the others carry only the rate the scoreboard shows. ``parts``: only these facts of each
    county (``region_facts``)."""
    q = question(year, today)
    snapshot, reason = _usable(q, today=today, check_marks=check_marks)
    stored = region_facts(snapshot, None if facts == EVERY else list(facts), parts) if facts else {}
    return StoredBoard(_board(q, snapshot, stored), snapshot, reason, q)


def with_facts(stored: StoredBoard, facts: list[str] | str) -> Scoreboard:
    """The same snapshot's board with the full detail of the counties ``facts`` (or ``EVERY``)."""
    assert stored.question is not None
    codes = None if facts == EVERY else list(facts)
    return _board(stored.question, stored.snapshot, region_facts(stored.snapshot, codes))


def entered_mark(assessment: Assessment | None) -> int:
    """The assessment's last audit event: every entry, override and attachment writes one."""
    if assessment is None:
        return 0
    return AuditEvent.objects.filter(assessment=assessment).aggregate(last=Max("pk"))["last"] or 0


def kept_export(stored: StoredBoard, name: str, build) -> bytes:
    """An export's bytes built once per state: kept in a file under MEDIA_ROOT named by the
    snapshot's version and the assessment's last audit event (an entry or an override changes
    the points), so it works without Redis and across processes, built by one request at a time.
    ``name`` tells the export and its arguments (the language included). Older versions of the
    snapshot's files are removed when a new one is written; a file system that refuses the write
    only costs the rebuild."""
    snapshot = stored.snapshot
    stamp = int(snapshot.computed_at.timestamp() * 1_000_000)
    version = f"{snapshot.pk}-{stamp}-{entered_mark(stored.board.assessment)}"
    root = Path(settings.MEDIA_ROOT) / "score-exports"
    folder = root / version
    path = folder / (hashlib.sha256(name.encode("utf-8")).hexdigest()[:32] + ".xlsx")
    try:
        return path.read_bytes()
    except OSError:
        pass
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / f"{path.name}.lock", "a+b")  # noqa: SIM115 - closed by the with below
    except OSError as error:
        log.warning("score export not kept at %s: %s", path, error)
        return build()
    with lock:
        # One build of a file at a time, across processes: the others wait, then read its bytes
        # (at a million cases the scoreboard's lists are seconds to write).
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return path.read_bytes()
        except OSError:
            pass
        body = build()
        try:
            partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.part")
            partial.write_bytes(body)
            os.replace(partial, path)
        except OSError as error:
            log.warning("score export not kept at %s: %s", path, error)
    for other in root.glob(f"{snapshot.pk}-*"):
        if other != folder:
            shutil.rmtree(other, ignore_errors=True)
    return body


def _usable(q: Question, *, today: dt.date | None, check_marks: bool, full: bool = False) -> tuple[ScoreSnapshot, str]:
    """The question's snapshot and why it may be behind; computed here only when there is none,
    or when it is stale and its year small (``SCORE_SNAPSHOT_INLINE_CASES``)."""
    snapshot = _find(q, full=full)
    reason = stale_reason(snapshot, q, current_marks(q.rule_set) if check_marks else None)
    if snapshot is None or (reason and snapshot.case_count <= inline_cases()):
        return refresh(q.year, today=q.day if q.as_of_today else today), ""
    return snapshot, reason


def _inputs(q: Question):
    entries: dict[tuple[int, int], ItemEntry] = {}
    overrides: dict[tuple[int, int], Override] = {}
    if q.assessment is not None and q.assessment.rule_set_id == q.rule_set.pk:
        for entry in ItemEntry.objects.filter(assessment=q.assessment).select_related("entered_by"):
            entries[(entry.region_id, entry.item_number)] = entry
        for override in Override.objects.filter(assessment=q.assessment).select_related("entered_by"):
            overrides[(override.region_id, override.item_number)] = override
    return entries, overrides


def _board(q: Question, snapshot: ScoreSnapshot, facts: dict[str, dict] | None = None) -> Scoreboard:
    sections = list(Section.objects.filter(rule_set=q.rule_set).order_by("number"))
    items = list(Item.objects.filter(rule_set=q.rule_set).order_by("number").prefetch_related("criteria"))
    regions = list(Region.objects.filter(level=Region.Level.COUNTY).order_by("code"))
    entries, overrides = _inputs(q)
    facts = facts or {}
    automatic = {}
    for region in regions:
        stored = snapshot.summary.get(region.code, {})
        details = facts.get(region.code, {}).get("items", {})
        for item in items:
            if not item.is_automatic:
                continue
            found = stored.get(str(item.number))
            computed = Decimal(found["computed"]) if found and found["computed"] not in (None, "") else None
            kept = details.get(str(item.number))
            automatic[(region.pk, item.number)] = _ItemScore(
                item,
                computed,
                computed=computed,
                rule_gap=bool(found and found.get("rule_gap")),
                detail=_restore(kept) if kept else StoredDetail(found.get("rate") if found else None),  # type: ignore[arg-type]
            )
    # As of the day it was computed for: a large year's snapshot may be a refresh behind.
    scope = make_scope(q.year, snapshot.as_of, as_of_today=snapshot.as_of_today)
    assembled = assemble(regions, sections, items, automatic, entries, overrides)
    for region_score in assembled:
        kept_departments = facts.get(region_score.region.code, {}).get("departments", [])
        region_score.departments = [
            DepartmentRank(
                d["id"],
                d["name"],
                _restore(d["timeliness"]),
                rank=d["rank"],
                points=Decimal(d["points"]) if d["points"] not in (None, "") else None,
                rule_gap=d["rule_gap"],
            )
            for d in kept_departments
        ]
    return Scoreboard(
        year=q.year,
        scope=scope,
        rule_set=q.rule_set,
        assessment=q.assessment,
        regions=assembled,
        planned_cutoff=q.planned,
    )


def stored_bytes(year: int, *, region_codes: list[str] | None, today: dt.date | None = None) -> bytes:
    """The scores JSON (SPEC §6) of the default question from the snapshot: byte for byte what
    ``score_year(year, today=…).to_bytes(region_codes)`` gives for the same ledger."""
    q = question(year, today)
    snapshot, _reason = _usable(q, today=today, check_marks=True)
    # The bytes of the last answer, kept while neither the snapshot nor an entry or override
    # (each writes an audit event) has changed: at a million cases they are megabytes to build.
    entered = entered_mark(q.assessment)
    key = "scoring:bytes:{}:{}:{}:{}:{}".format(
        snapshot.pk,
        snapshot.computed_at.timestamp(),
        entered or 0,
        q.day.isoformat(),
        "*" if region_codes is None else ",".join(sorted(region_codes)),
    )
    kept = cache.get(key)
    if kept is not None:
        return kept
    if "detail" in snapshot.get_deferred_fields():
        snapshot.refresh_from_db(fields=["detail"])
    board = _board(q, snapshot)
    detail = json.loads(snapshot.detail or "{}")
    parts = []
    for region_score in board.regions:
        code = region_score.region.code
        if region_codes is not None and code not in region_codes:
            continue
        items = []
        for number, score in sorted(region_score.items.items()):
            stored = detail.get(code, {}).get(str(number)) if score.auto else None
            if stored is not None:
                text = '{"points": ' + json.dumps(points_str(score.points), ensure_ascii=False) + ", " + stored
            else:
                text = dumps(_item_json(score)).decode("utf-8")
            items.append(json.dumps(str(number)) + ": " + text)
        overrides = [_override_json(o) for o in sorted(region_score.overrides, key=lambda o: o.item_number)]
        parts.append(
            "{"
            + ", ".join(
                [
                    '"code": ' + json.dumps(code, ensure_ascii=False),
                    '"name": ' + json.dumps(region_score.region.name, ensure_ascii=False),
                    '"rank": ' + json.dumps(region_score.rank),
                    '"total": ' + json.dumps(points_str(region_score.total), ensure_ascii=False),
                    '"items": {' + ", ".join(items) + "}",
                    '"overrides": ' + json.dumps(overrides, ensure_ascii=False),
                ]
            )
            + "}"
        )
    head = {"year": board.year, "cutoff": q.planned.isoformat(), "rule_set": board.rule_set.code}
    text = dumps(head).decode("utf-8")[:-1] + ', "regions": [' + ", ".join(parts) + "]"
    if board.as_of_today:
        text += ', "provisional": true, "as_of": ' + json.dumps(board.cutoff.isoformat())
    body = (text + "}").encode("utf-8")
    cache.set(key, body, max(60, 2 * interval_seconds()))
    return body
