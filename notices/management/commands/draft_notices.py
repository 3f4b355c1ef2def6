"""Draft notices from the ledger by hand: ``draft_notices [--region CODE] [--period 2026-03]``.

Without arguments it does what the beat task does: for every schedule, the period that ended last.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone

from cases.errors import CaseError
from cases.models import Region, local_date
from notices import periods, services
from notices.models import NoticeSchedule


class Command(BaseCommand):
    help = "Draft periodic notices (通报) from the ledger; idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--region", help="region code or name (default: every region with a schedule)")
        parser.add_argument("--period", help="2026-03 or 2026-Q1 (default: the period that ended last)")

    def handle(self, *args, region=None, period=None, **options):
        try:
            if region is None and period is None:
                notices = services.draft_due_notices()
            else:
                regions = self._regions(region)
                notices = []
                for r in regions:
                    if period:
                        chosen = periods.parse(period)
                    else:
                        schedule = NoticeSchedule.objects.filter(region=r).first()
                        frequency = schedule.frequency if schedule else periods.MONTHLY
                        chosen = periods.last_ended(local_date(timezone.now()), frequency)
                    notices.append(services.draft_notice(by=None, region=r, period=chosen, system=True))
        except CaseError as error:
            raise CommandError(error.message) from None
        for notice in notices:
            self.stdout.write(f"{notice.region.code} {notice.period} #{notice.pk} {notice.status}")
        self.stdout.write(self.style.SUCCESS(f"{len(notices)} notice(s)"))

    def _regions(self, value):
        if value is None:
            return [s.region for s in NoticeSchedule.objects.select_related("region")]
        region = Region.objects.filter(Q(code=value) | Q(name=value)).first()
        if region is None:
            raise CommandError(f"Unknown region: {value}")
        return [region]
