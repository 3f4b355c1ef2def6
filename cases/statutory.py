"""The statutory holidays the law fixes in advance (全国年节及纪念日放假办法), one entry per version.

The State Council's yearly notice only adds the bridging arrangement (调休: days off joined to a
holiday and the make-up working days that pay for them). The statutory days themselves follow
from the law: fixed dates, three lunar dates and the 清明 solar term. A year nobody has entered
yet is counted on weekends plus these days and marked provisional with the rule's label (e.g.
``2027.provisional-statutory-2025``), so the label says which law computed it.

A change of the law is one new ``StatutoryRule`` at the end of ``RULES``. Lunar dates and solar
terms come from ``lunar-python`` (astronomical, China Standard Time), not from a table kept here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from django.utils.translation import gettext_noop
from lunar_python import Lunar

# The names chinesecalendar gives the holidays of the years it seeds, so every year's days read
# the same; they are msgids, translated where they are shown.
NEW_YEAR = gettext_noop("New Year's Day")
SPRING_FESTIVAL = gettext_noop("Spring Festival")
QINGMING = gettext_noop("Tomb-sweeping Day")
LABOUR_DAY = gettext_noop("Labour Day")
DRAGON_BOAT = gettext_noop("Dragon Boat Festival")
MID_AUTUMN = gettext_noop("Mid-autumn Festival")
NATIONAL_DAY = gettext_noop("National Day")


@dataclass(frozen=True)
class StatutoryRule:
    """One version of the national holiday rules: which days are statutory holidays each year."""

    label: str  # recorded in the provisional version label of a due date
    effective_from: int  # the first year the rule governs
    basis: str  # the act, for the calendar page
    spring_festival: tuple[int, ...]  # days counted from 正月初一: -1 is 除夕 (the day before)
    labour_days: int  # from 1 May
    qingming: bool
    dragon_boat: bool  # 端午, 五月初五
    mid_autumn: bool  # 中秋, 八月十五
    new_year_days: int = 1  # from 1 January
    national_days: int = 3  # from 1 October

    def holidays(self, year: int) -> dict[dt.date, str]:
        """{date: name} of the statutory holidays of ``year`` (weekends included)."""
        return dict(_holidays(self, year))


def _solar_date(solar) -> dt.date:
    return dt.date(solar.getYear(), solar.getMonth(), solar.getDay())


@lru_cache(maxsize=256)
def _holidays(rule: StatutoryRule, year: int) -> tuple[tuple[dt.date, str], ...]:
    days: dict[dt.date, str] = {}

    def run(start: dt.date, length: int, name: str) -> None:
        for offset in range(length):
            days.setdefault(start + dt.timedelta(days=offset), name)

    run(dt.date(year, 1, 1), rule.new_year_days, NEW_YEAR)
    # 正月初一 of lunar year ``year`` falls between 21 January and 20 February of ``year``, so
    # 除夕 (the last day of the twelfth month, the 29th or the 30th) is always in ``year`` too.
    first_day = _solar_date(Lunar.fromYmd(year, 1, 1).getSolar())
    for offset in rule.spring_festival:
        days.setdefault(first_day + dt.timedelta(days=offset), SPRING_FESTIVAL)
    if rule.qingming:
        # The solar-term table of lunar year ``year`` holds the 清明 of April of ``year``.
        qingming = _solar_date(Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"])
        if qingming.year != year:  # pragma: no cover - would mean the library changed its table
            raise ValueError(f"清明 of {year} computed as {qingming}")
        days.setdefault(qingming, QINGMING)
    run(dt.date(year, 5, 1), rule.labour_days, LABOUR_DAY)
    if rule.dragon_boat:
        days.setdefault(_solar_date(Lunar.fromYmd(year, 5, 5).getSolar()), DRAGON_BOAT)
    if rule.mid_autumn:
        days.setdefault(_solar_date(Lunar.fromYmd(year, 8, 15).getSolar()), MID_AUTUMN)
    run(dt.date(year, 10, 1), rule.national_days, NATIONAL_DAY)
    return tuple(sorted(days.items()))


# Oldest first. Each was checked against the official schedules chinesecalendar holds for the
# years it governed (tests/deadlines/test_statutory_rule.py).
RULES: tuple[StatutoryRule, ...] = (
    StatutoryRule(
        "statutory-2000",
        2000,
        "国务院令第270号，1999年修订",
        spring_festival=(0, 1, 2),
        labour_days=3,
        qingming=False,
        dragon_boat=False,
        mid_autumn=False,
    ),
    StatutoryRule(
        "statutory-2008",
        2008,
        "国务院令第513号，2007年修订",
        spring_festival=(-1, 0, 1),
        labour_days=1,
        qingming=True,
        dragon_boat=True,
        mid_autumn=True,
    ),
    StatutoryRule(
        "statutory-2014",
        2014,
        "国务院令第644号，2013年修订",
        spring_festival=(0, 1, 2),
        labour_days=1,
        qingming=True,
        dragon_boat=True,
        mid_autumn=True,
    ),
    StatutoryRule(
        "statutory-2025",
        2025,
        "国务院令第795号，2024年修订",
        spring_festival=(-1, 0, 1, 2),
        labour_days=2,
        qingming=True,
        dragon_boat=True,
        mid_autumn=True,
    ),
)
_BY_LABEL = {rule.label: rule for rule in RULES}


def rule_for(year: int) -> StatutoryRule | None:
    """The rule in force in ``year`` (None before the first one: weekends only)."""
    current = None
    for rule in RULES:
        if rule.effective_from <= year:
            current = rule
    return current


def rule_by_label(label: str) -> StatutoryRule | None:
    return _BY_LABEL.get(label)


def holidays(year: int) -> dict[dt.date, str]:
    """The statutory holidays of ``year`` under the rule in force then ({} before any rule)."""
    rule = rule_for(year)
    return rule.holidays(year) if rule else {}
