"""What an assessment looks at: a year's cases by local receipt date, the ledger as of the cutoff."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _

from cases.errors import InvalidInput


@dataclass(frozen=True)
class Scope:
    year: int
    cutoff: dt.date
    start: dt.datetime  # Y-01-01 00:00 local, aware
    end: dt.datetime  # the instant after the cutoff day ends (cutoff+1 00:00 local), aware; exclusive
    # Scoring "as of today" before the cutoff: the day is still running, so an open case due
    # today is not late yet (pending) — only one due before today is.
    as_of_today: bool = False

    @property
    def late_through(self) -> dt.date:
        """An open case whose due date is on or before this day counts as late."""
        return self.cutoff - dt.timedelta(days=1) if self.as_of_today else self.cutoff

    @property
    def as_of(self) -> dt.datetime:
        """The last instant that counts: the cutoff day 23:59:59.999999 Asia/Shanghai."""
        return self.end - dt.timedelta(microseconds=1)


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def moment(year: int, cutoff: dt.date, today: dt.date | None) -> tuple[dt.date, bool]:
    """The day a page scores as of: today while the year's cutoff is still ahead ("as of
    today", provisional), the cutoff once it has come. Returns (day, as_of_today)."""
    # The cutoff day itself is not over: a case due that day may still close on time.
    if today is not None and dt.date(year, 1, 1) <= today <= cutoff:
        return today, True
    return cutoff, False


def make_scope(year: int, cutoff: dt.date | None = None, *, as_of_today: bool = False) -> Scope:
    if not isinstance(year, int) or year < 2000 or year > 2100:
        raise InvalidInput(_("The year must be between 2000 and 2100."), field="year")
    cutoff = cutoff or dt.date(year, 12, 20)
    if cutoff.year != year:
        raise InvalidInput(
            _("The cutoff %(cutoff)s is outside the year %(year)d.") % {"cutoff": cutoff.isoformat(), "year": year},
            field="cutoff",
        )
    zone = local_zone()
    start = dt.datetime(year, 1, 1, tzinfo=zone)
    end = dt.datetime.combine(cutoff + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return Scope(year=year, cutoff=cutoff, start=start, end=end, as_of_today=as_of_today)


def parse_cutoff(value: str | None, year: int) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        cutoff = dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(_("The cutoff must be a date written YYYY-MM-DD."), field="cutoff") from None
    make_scope(year, cutoff)
    return cutoff


def utc_offset_hours(scope: Scope) -> int | None:
    """The local zone's whole-hour UTC offset if it is the same all year (Asia/Shanghai: +8 since 1992)."""
    zone = local_zone()
    offsets = {dt.datetime(scope.year, month, 1, 12, tzinfo=zone).utcoffset() for month in range(1, 13)} | {
        dt.datetime(scope.year + 1, 1, 1, 12, tzinfo=zone).utcoffset()
    }
    if len(offsets) != 1:
        return None
    (offset,) = offsets
    if offset is None:  # never, for an aware datetime; the type allows it
        return None
    seconds = int(offset.total_seconds())
    return seconds // 3600 if seconds % 3600 == 0 else None
