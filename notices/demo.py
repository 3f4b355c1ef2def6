"""The demo year's notice schedules and issued notices (seeded by ``desk.demo`` after the cases).

One county keeps no schedule, one is quarterly, one skipped two months; the others issue each
month's notice three to nine days after it ends — so item 14 and the notices grid have something
to tell apart.
"""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

from django.test.utils import override_settings
from django.utils import timezone

from cases.models import Region

from . import periods, services

LOCAL = ZoneInfo("Asia/Shanghai")


def _at(day: dt.date, rng: random.Random) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(8, 30), tzinfo=LOCAL) + dt.timedelta(minutes=rng.randint(0, 540))


def seed_notices(offices: dict[str, object], *, year: int, rng: random.Random, now: dt.datetime) -> int:
    """Schedules and issued notices, written by each county's office user (``offices``: region
    code → user). Returns the number of notices issued."""
    regions = list(Region.objects.filter(level=Region.Level.COUNTY).order_by("code"))
    today = timezone.localtime(now).date()
    issued = 0
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        for index, region in enumerate(regions):
            if index == 9 or region.code not in offices:
                continue  # 息县 keeps no notice schedule
            office = offices[region.code]
            frequency = "quarterly" if index == 4 else "monthly"
            recipients = [
                {"group": "city_office", "name": "信阳市企业服务办", "email": "city-office@example.invalid"},
                {
                    "group": "local_leader",
                    "name": f"{region.name}分管副县长",
                    "email": f"leader-{region.code}@example.invalid",
                },
                {
                    "group": "department_leader",
                    "name": f"{region.name}各责任单位负责人",
                    "email": f"depts-{region.code}@example.invalid",
                },
            ]
            set_at = dt.datetime(year, 1, 5, 9, 0, tzinfo=LOCAL)
            services.save_schedule(
                by=office,
                region=region,
                frequency=frequency,
                start_date=dt.date(year, 1, 1),
                recipients=recipients,
                now=set_at,
            )
            for period in periods.in_year(year, frequency):
                issue_day = period.end + dt.timedelta(days=rng.randint(3, 9))
                if issue_day >= today:
                    break
                if index == 2 and period.key.endswith(("-04", "-07")):
                    continue  # 罗山县 missed two months
                moment = _at(issue_day, rng)
                notice = services.draft_notice(by=office, region=region, period=period.key, now=moment)
                services.issue_notice(by=office, notice=notice, now=moment + dt.timedelta(hours=1))
                issued += 1
    return issued
