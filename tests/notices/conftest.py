"""Fixtures for the notices tests: scans kept out of the project's media folder, schedules, and
a helper that registers notices at a given moment."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from notices import services
from notices.models import ALL_GROUPS
from tests.conftest import pdf_file


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def at(day: dt.date | str, hour: int = 10) -> dt.datetime:
    """An aware Asia/Shanghai datetime on ``day``."""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)), timezone.get_default_timezone())


RECIPIENTS = [
    {"group": "city_office", "name": "市服务办", "email": "city-office@example.cn"},
    {"group": "local_leader", "name": "王副县长", "email": "leader@example.cn"},
    {"group": "department_leader", "name": "工信局李局长", "email": "it-bureau@example.cn"},
    {"group": "department_leader", "name": "人社局赵局长", "email": "hr-bureau@example.cn"},
]


@pytest.fixture
def schedule_for(city_user):
    def make(region, frequency="monthly", start_date=None, recipients=None):
        schedule, _created = services.save_schedule(
            by=city_user,
            region=region,
            frequency=frequency,
            start_date=start_date,
            recipients=recipients or RECIPIENTS,
        )
        return schedule

    return make


@pytest.fixture
def register(city_user):
    """Register an offline notice for ``period`` issued on ``issued_on`` (recorded that day)."""

    def make(region, period, issued_on, groups=ALL_GROUPS, by=None):
        issued_on = dt.date.fromisoformat(issued_on) if isinstance(issued_on, str) else issued_on
        return services.register_offline(
            by=by or city_user,
            region=region,
            period=period,
            issued_on=issued_on,
            groups=list(groups),
            document=pdf_file("通报扫描件.pdf"),
            now=at(issued_on, 17),
        )

    return make
