"""A notice's figures kept (``DraftFigures``), computed off the request.

Drafting a county-month reads every case open at its end as the ledger stood then: seconds at a
million cases. So the figures ``drafting.compute`` gives are stored per region and period with the
ledger mark they are exact through, and drafting a notice reads them when they are current:

- current: no ledger entry with an id above the mark belongs to a case of the region (any case,
  for the city) and either occurred before the period's end — it changes what the ledger says as
  of then —, or marks a case 督办 (the figures list the case's current 督办 flag), or records a
  case whose receipt is dated before the end (entered late: drafting counts receipts by
  ``Case.received_at``). One query over the entries above the mark (the primary key's range: a
  few rows) joined to their cases.
  Drafting depends on nothing else that changes: due dates are read from the entries, not the
  calendar or a rule set.
- the mark is safe: it is read while holding a SHARE lock on the ledger table (``safe_mark``),
  which waits for every transaction writing entries to end, so no entry with a smaller id is
  committed later and missed. Figures are computed after it, so they may include newer entries;
  those only make the check say "stale" once more (never "current" wrongly).

When they are computed:
- ``refresh_due`` (the beat task ``notices.refresh_draft_figures`` every
  ``NOTICE_FIGURES_INTERVAL_SECONDS`` with Celery; each round of ``run_timers`` in the embedded
  default, through ``notifications.signals.timers_tick``): every county's (and each scheduled
  region's) period that ended last — the one its schedule drafts next — and every period with a
  draft open, when missing or stale; drafts open on them take the new figures;
- on the request, when none are stored or they are stale and the region is small (the stored
  figures' received and open cases at most ``NOTICE_FIGURES_INLINE_CASES``);
- otherwise the request gets the stale figures, shown with their time (数据计算于 HH:MM，正在更新),
  and a refresh is queued (Celery's default queue; the next timers round without Celery).

Issuing never trusts them blindly: ``services.issue_notice`` checks, in the issue transaction,
that the draft's figures are current — and that no enterprise of the region was entered again
since (an intake may rename it: the overdue list names enterprises as they are now) — and
recomputes them there if not (``exact``). Department names (renamed in the admin, outside the
ledger) are as of the computation.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone, translation

from cases.models import Region, local_date
from ledger.models import LedgerEntry

from . import drafting, periods
from .models import ISSUED_STATES, DraftFigures, Notice, NoticeSchedule, Status

log = logging.getLogger(__name__)


def interval_seconds() -> int:
    return int(getattr(settings, "NOTICE_FIGURES_INTERVAL_SECONDS", 300))


def inline_cases() -> int:
    return int(getattr(settings, "NOTICE_FIGURES_INLINE_CASES", 20000))


def mark_lock_timeout_ms() -> int:
    return int(getattr(settings, "NOTICE_FIGURES_MARK_LOCK_TIMEOUT_MS", 500))


@dataclass
class Figures:
    """drafting.compute's result, the mark it is exact through (None: not known) and its time."""

    result: dict
    mark: int | None
    computed_at: dt.datetime
    stale: bool = False  # stored figures shown while newer ones are computed


# -- the ledger mark ------------------------------------------------------------------------------


def safe_mark() -> int | None:
    """The greatest ledger entry id, read when no transaction that writes entries is open: every
    entry up to it is committed. None when the writers did not finish within the lock timeout (a
    long import): the caller then computes without storing.

    On PostgreSQL a SHARE lock on the entries table waits for the open writers and holds new ones
    back for the one index read; SQLite has one writer at a time, whose ids are all above what
    readers see."""
    if connection.vendor != "postgresql":
        return LedgerEntry.objects.aggregate(m=Max("pk"))["m"] or 0
    table = connection.ops.quote_name(LedgerEntry._meta.db_table)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # For this transaction only: a long import's open transaction is not waited for.
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{mark_lock_timeout_ms()}ms"])
            cursor.execute(f"LOCK TABLE {table} IN SHARE MODE")
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
            mark = cursor.fetchone()[0]
        return int(mark)
    except DatabaseError:
        log.warning("notice figures: the ledger's writers did not finish in time; not stored this time")
        return None


def changed_since(region: Region, period: periods.Period, mark: int) -> bool:
    """Has an entry above ``mark`` changed the region's figures of the period?"""
    _start, end = period.bounds()
    entries = LedgerEntry.objects.filter(pk__gt=mark).filter(
        Q(occurred_at__lt=end)
        # The figures list each overdue case's 督办 flag as it is now.
        | Q(action="supervise")
        # A case entered late with its receipt dated in or before the period (drafting counts
        # receipts by Case.received_at): its ``create`` entry is dated when it was entered.
        | Q(action="create", case__received_at__lt=end)
    )
    if not region.is_city:
        entries = entries.filter(case__region=region)
    return entries.exists()


# -- computing and storing --------------------------------------------------------------------------


def _key(region: Region, period: periods.Period) -> dict:
    return {"region": region, "frequency": period.frequency, "period_start": period.start}


def compute(region: Region, period: periods.Period) -> dict:
    """drafting.compute in the site's language (the figures name 尚未交办 whoever asks), as JSON."""
    with translation.override(settings.LANGUAGE_CODE):
        return drafting.compute(region, period)


def stored(region: Region, period: periods.Period) -> DraftFigures | None:
    return DraftFigures.objects.filter(**_key(region, period)).first()


_READ_NOW = object()


def refresh(region: Region, period: periods.Period, *, mark=_READ_NOW) -> Figures:
    """Compute the figures now and keep them (unless newer ones were stored meanwhile, or no safe
    mark could be had). Call it outside a transaction: the mark's lock is held to its end. A
    ``mark`` read earlier (one per round of ``refresh_due``) is as safe: the figures computed
    after it may only be newer, which makes the next check recompute them."""
    if mark is _READ_NOW:
        mark = safe_mark()
    started = time.perf_counter()
    result = compute(region, period)
    seconds = time.perf_counter() - started
    now = timezone.now()
    if mark is not None:
        with transaction.atomic():
            row, created = DraftFigures.objects.select_for_update().get_or_create(
                **_key(region, period),
                defaults={
                    "period_end": period.end,
                    "result": result,
                    "computed_at": now,
                    "ledger_mark": mark,
                    "seconds": seconds,
                },
            )
            if not created and row.ledger_mark <= mark:
                row.result, row.computed_at, row.ledger_mark, row.seconds = result, now, mark, seconds
                row.period_end = period.end
                row.save()
    return Figures(result, mark, now)


def _size(row: DraftFigures) -> int:
    """How many cases the figures read rows of: received in the period and open at its end."""
    found = DraftFigures.objects.filter(pk=row.pk).values_list("result__figures__received", "result__figures__open")
    received, open_ = found.first() or (0, 0)
    return int(received or 0) + int(open_ or 0)


def for_draft(region: Region, period: periods.Period, *, held: dt.datetime | None = None) -> Figures:
    """The figures a draft shows: stored ones when current; else computed now when none are stored
    or the region is small; else the stored ones marked stale, with a refresh queued. Two cheap
    queries when they are current.

    ``held``: the ``figures_computed_at`` of the draft open for the period. When the draft already
    holds the stored figures, their JSON (megabytes for a large county) is not read: the result
    is None."""
    row = DraftFigures.objects.filter(**_key(region, period)).defer("result").first()
    if row is not None and not changed_since(region, period, row.ledger_mark):
        return Figures(_result(row, held), row.ledger_mark, row.computed_at)
    if row is None or _size(row) <= inline_cases():
        return refresh(region, period)
    queue_refresh(region, period)
    return Figures(_result(row, held), None, row.computed_at, stale=True)


def _result(row: DraftFigures, held: dt.datetime | None) -> dict | None:
    return None if held is not None and held == row.computed_at else row.result


def with_result(region: Region, period: periods.Period, found: Figures) -> Figures:
    """``found`` with its JSON read, when the draft turned out not to hold it after all (another
    request refilled it meanwhile): the stored figures if still those, else computed now."""
    if found.result is not None:
        return found
    row = stored(region, period)
    if row is not None and row.computed_at == found.computed_at:
        return Figures(row.result, found.mark, found.computed_at, found.stale)
    return exact(region, period)


def is_current(notice: Notice, *, names: bool = False) -> bool:
    """Are the draft's figures what drafting gives now? With ``names`` (issuing) also no intake
    since of an enterprise the region has cases of: an intake may rename the enterprise, and the
    overdue list names each case's enterprise as it is now."""
    if notice.figures_mark is None:
        return False
    region, mark = notice.region, notice.figures_mark
    if changed_since(region, notice.period_obj, mark):
        return False
    if names:
        intakes = LedgerEntry.objects.filter(pk__gt=mark, action="create")
        if not region.is_city:
            intakes = intakes.filter(case__enterprise__cases__region=region)
        return not intakes.exists()
    return True


def exact(region: Region, period: periods.Period) -> Figures:
    """Figures computed now, for issuing inside its transaction (no mark: a lock taken here would
    be held until the issue commits)."""
    return Figures(compute(region, period), None, timezone.now())


# -- the refresh off the request --------------------------------------------------------------------

QUEUED_KEY = "notices:figures:refresh-queued:{region}:{period}"


def queue_refresh(region: Region, period: periods.Period) -> None:
    """With a Celery worker: refresh this region's period on the default queue (once at a time).
    Without one (tasks would run in the request) nothing: the next timers round refreshes."""
    from .tasks import refresh_draft_figures_of

    # The Celery app's own switch (the setting is its default; tests and the embedded default
    # run tasks in-process, where a queued refresh would run in this request).
    if refresh_draft_figures_of.app.conf.task_always_eager:
        return
    key = QUEUED_KEY.format(region=region.pk, period=period.key)
    if not cache.add(key, 1, max(60, interval_seconds())):
        return

    try:
        refresh_draft_figures_of.apply_async(args=[region.pk, period.key], queue=settings.CELERY_TASK_DEFAULT_QUEUE)
    except Exception:  # noqa: BLE001 - the broker is down: the beat's interval refreshes anyway
        log.warning("could not queue the notice figures' refresh", exc_info=True)
        cache.delete(key)


def refresh_one(region_id: int, period_key: str) -> bool:
    """The queued refresh: recompute if still stale; update open drafts. True if it computed."""
    region = Region.objects.get(pk=region_id)
    period = periods.parse(period_key)
    try:
        return _refresh_if_stale(region, period)
    finally:
        cache.delete(QUEUED_KEY.format(region=region.pk, period=period.key))


def _refresh_if_stale(region: Region, period: periods.Period, *, mark=_READ_NOW) -> bool:
    row = stored(region, period)
    computed = False
    if row is None or changed_since(region, period, row.ledger_mark):
        figures = refresh(region, period, mark=mark)
        computed = True
    else:
        figures = Figures(row.result, row.ledger_mark, row.computed_at)
    if figures.mark is not None:
        update_drafts(region, period, figures)
    return computed


def update_drafts(region: Region, period: periods.Period, figures: Figures) -> None:
    """The open draft of the period takes the new figures (its body too, unless edited)."""
    from .services import fill_from

    with transaction.atomic():
        Region.objects.select_for_update().get(pk=region.pk)
        draft = (
            Notice.objects.select_for_update().filter(region=region, period=period.key, status=Status.DRAFTED).first()
        )
        if draft is None or (draft.figures_mark is not None and draft.figures_mark >= (figures.mark or 0)):
            return
        fill_from(draft, region, period, figures, timezone.now())
        draft.save()


def due_periods(today: dt.date) -> list[tuple[Region, periods.Period]]:
    """What an office will open: each county's (and scheduled region's) period that ended last, by
    its schedule's frequency (monthly without one), unless its notice is in force; and every
    period with a draft open."""
    schedules = {s.region_id: s.frequency for s in NoticeSchedule.objects.all()}
    regions = Region.objects.filter(Q(level=Region.Level.COUNTY) | Q(pk__in=list(schedules))).order_by("code")
    wanted: dict[tuple[int, str], tuple[Region, periods.Period]] = {}
    by_pk = {}
    for region in regions:
        by_pk[region.pk] = region
        period = periods.last_ended(today, schedules.get(region.pk, periods.MONTHLY))
        wanted[(region.pk, period.key)] = (region, period)
    for region_id, key in Notice.objects.filter(status=Status.DRAFTED).values_list("region_id", "period"):
        region = by_pk.get(region_id) or Region.objects.get(pk=region_id)
        wanted[(region_id, key)] = (region, periods.parse(key))
    in_force = set(
        Notice.objects.filter(status__in=ISSUED_STATES, period__in={k for _r, k in wanted}).values_list(
            "region_id", "period"
        )
    )
    return [pair for key, pair in wanted.items() if key not in in_force]


def refresh_due(*, now: dt.datetime | None = None) -> list[str]:
    """Refresh every due period's figures that are missing or stale (the beat task, the timers
    round). Returns what was computed, as ``code period``."""
    today = local_date(now or timezone.now())
    # One mark for the round: the ledger's writers are waited for once, not once per region.
    mark = safe_mark()
    if mark is None:
        return []  # a long write (an import) is open: the next round tries again
    done = []
    for region, period in due_periods(today):
        try:
            if _refresh_if_stale(region, period, mark=mark):
                done.append(f"{region.code} {period.key}")
        except Exception:  # noqa: BLE001 - one region's failure does not hold back the others
            log.exception("notice figures of %s %s not refreshed", region.code, period.key)
    return done
