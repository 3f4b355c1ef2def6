"""Beat tasks: keep item 13's verdicts warm, and freeze a year's result once its cutoff has passed."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from cases.models import Region

from .item13 import warm_verdicts
from .models import Assessment
from .scope import make_scope

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def freeze_after_cutoff() -> list[int]:
    """Freeze every year whose cutoff has ended (a year without an assessment row gets the default
    rule set and the 12-20 cutoff). Safe to run many times: freezing twice changes nothing."""
    from .services import freeze

    now = timezone.now()
    today = timezone.localtime(now).date()
    frozen = []
    years = set(Assessment.objects.filter(frozen_at__isnull=True, cutoff__lt=today).values_list("year", flat=True))
    default = make_scope(today.year).cutoff
    if today > default and not Assessment.objects.filter(year=today.year).exists():
        years.add(today.year)
    for year in sorted(years):
        freeze(year, now=now)
        frozen.append(year)
    return frozen


@shared_task(acks_late=True)
def judge_ledgers() -> int:
    """Judge the ledger chains of the current year's cases that changed since last time (item 13)."""
    now = timezone.now()
    today = timezone.localtime(now).date()
    assessment = Assessment.objects.filter(year=today.year).first()
    scope = make_scope(today.year, assessment.cutoff if assessment else None)
    region_ids = list(Region.objects.filter(level=Region.Level.COUNTY).values_list("pk", flat=True))
    return warm_verdicts(region_ids, scope)


@shared_task(acks_late=True)
def refresh_snapshots() -> list[int]:
    """Refresh the stored scores whose ledger, notices or day has changed (``scoring.snapshots``),
    and the stored trends series in the same round (``scoring.trend_snapshots``)."""
    from . import trend_snapshots
    from .exports import scoreboard_wanted_ahead
    from .snapshots import refresh_due

    refreshed = refresh_due()
    trend_snapshots.refresh_due()
    for year in refreshed:
        if not scoreboard_wanted_ahead(year):
            continue  # nobody downloaded it lately: the next download builds it
        try:
            build_scoreboard_export(year)
        except SoftTimeLimitExceeded:
            raise
        except Exception:  # the snapshot is stored: the first download builds the workbook instead
            log.exception("scoreboard workbook of %s not built ahead", year)
    return refreshed


def build_scoreboard_export(year: int) -> None:
    """The city-wide scoreboard workbook of the year's new snapshot, in the site's language, built
    here rather than by the first assessor who downloads it: seconds of CPU at 100,000 cases (3 s
    under the load test, 17 s at a million) that held a web thread and slowed the pages beside it."""
    from django.conf import settings
    from django.utils import translation

    from .exports import kept_scoreboard_xlsx
    from .snapshots import stored_board

    with translation.override(settings.LANGUAGE_CODE):
        kept_scoreboard_xlsx(stored_board(year), None, translation.get_language())
