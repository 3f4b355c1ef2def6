"""A notice as an official document (公文): the issuing office, its document number (文号), the
addressees (主送 / 抄送), the body drafted from the figures, and the date line.

The HTML print page and the PDF (``notices.pdf``) both read ``letterhead(notice)``, so the two
never disagree on what the document says.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from cases.models import Region

from . import periods
from .models import (
    ALL_GROUPS,
    Notice,
    NoticeDelivery,
    NoticeNumberSequence,
    NoticeSchedule,
    RecipientGroup,
)

# 主送: the notice is addressed to the departments it is about; 抄送: the office above and the
# local leaders in charge receive a copy (the usual layout of a county's 通报).
MAIN_GROUPS = (RecipientGroup.DEPARTMENT_LEADER,)
COPY_GROUPS = (RecipientGroup.CITY_OFFICE, RecipientGroup.LOCAL_LEADER)


def office_name(region: Region, schedule: NoticeSchedule | None = None) -> str:
    """The issuing office: the schedule's, else the region's enterprise service office."""
    if schedule is not None and schedule.office_name.strip():
        return schedule.office_name.strip()
    return _("%(region)s Enterprise Service Office") % {"region": region.name}


def number_prefix(region: Region, schedule: NoticeSchedule | None = None) -> str:
    """The abbreviation a document number starts with: the schedule's, else 罗山县 → 罗服办."""
    if schedule is not None and schedule.number_prefix.strip():
        return schedule.number_prefix.strip()
    return _("%(initial)s Service Office") % {"initial": region.name[:1]}


def format_number(prefix: str, year: int, serial: int) -> str:
    return f"{prefix}〔{year}〕{serial}号"


def allocate_number(region: Region, year: int) -> int:
    """The next document serial of the region's office for the year.

    Call inside the transaction that holds the region's row lock (``issue_notice`` does): the
    counter row is locked and bumped, so serials never repeat and a failed issue rolls it back.
    """
    sequence, _created = NoticeNumberSequence.objects.select_for_update().get_or_create(region=region, year=year)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return sequence.last


def chinese_date(day: dt.date | None) -> str:
    if day is None:
        return ""
    return _("%(year)d-%(month)02d-%(day)02d") % {"year": day.year, "month": day.month, "day": day.day}


# -- the body drafted from the figures -----------------------------------------------------------


def _rate_text(rate) -> str:
    return f"{Decimal(rate) * 100:.2f}%" if rate is not None else "—"


def draft_body(region: Region, period: periods.Period, figures: dict) -> str:
    """A paragraph (and a request) in the office's words from the period's figures."""
    closed = figures.get("closed", (figures.get("resolved") or 0) + (figures.get("explained") or 0))
    counts = {
        "period": period.label,
        "region": region.name,
        "received": figures.get("received") or 0,
        "assigned": figures.get("assigned") or 0,
        "closed": closed or 0,
        "resolved": figures.get("resolved") or 0,
        "explained": figures.get("explained") or 0,
        "on_time": figures.get("on_time") or 0,
        "rate": _rate_text(figures.get("on_time_rate")),
        "open": figures.get("open") or 0,
    }
    opening = (
        _(
            "In %(period)s, %(region)s received %(received)d enterprise problems and routed %(assigned)d to the "
            "departments responsible; %(closed)d were closed (%(resolved)d resolved, %(explained)d answered "
            "with an explanation)."
        )
        % counts
    )
    if closed:
        opening += _(" %(on_time)d were closed on time, an on-time rate of %(rate)s.") % counts
    opening += _(" At the end of the period %(open)d cases were still being handled.") % counts
    paragraphs = [opening]
    overdue = figures.get("overdue_cases") or []
    if overdue:
        by_department = Counter(case["department"] for case in overdue)
        listing = pgettext("list separator", ", ").join(
            _("%(department)s %(count)d") % {"department": name, "count": count}
            for name, count in sorted(by_department.items(), key=lambda item: (-item[1], item[0]))
        )
        sentence = _("%(count)d cases were past their due date and not closed: %(listing)s.") % {
            "count": len(overdue),
            "listing": listing,
        }
        supervised = [case for case in overdue if case.get("supervised")]
        if supervised:
            sentence += _(" %(count)d of them are under supervision (督办): %(numbers)s.") % {
                "count": len(supervised),
                "numbers": pgettext("list separator", ", ").join(case["number"] for case in supervised),
            }
        paragraphs.append(
            sentence
            + _(
                " The departments concerned are asked to close the overdue cases without delay and report "
                "how they were handled within five working days of receiving this notice."
            )
        )
    else:
        paragraphs.append(
            _(
                "No case was past its due date at the end of the period. The departments are asked "
                "to keep handling every problem within its deadline."
            )
        )
    return "\n\n".join(paragraphs)


# -- what the document says ----------------------------------------------------------------------


@dataclass
class Letterhead:
    office: str
    number: str  # the 文号; "" for a draft (allocated at issue) or an offline notice without one
    title: str
    main: list[str] = field(default_factory=list)  # 主送
    copy: list[str] = field(default_factory=list)  # 抄送
    body: list[str] = field(default_factory=list)  # paragraphs
    date_text: str = ""
    draft: bool = False
    late: bool = False


def _names(rows: list[tuple[str, str]], groups) -> list[str]:
    wanted = [str(g) for g in groups]
    names: list[str] = []
    for group in wanted:
        for row_group, name in rows:
            if row_group == group and name not in names:
                names.append(name)
    return names


def recipients_of(notice: Notice, schedule: NoticeSchedule | None) -> list[tuple[str, str]]:
    """(group, name) of whom the notice goes to: who it went to once issued, else the schedule's."""
    if notice.status != "drafted":
        rows = list(NoticeDelivery.objects.filter(notice=notice).order_by("group", "id").values_list("group", "name"))
        if rows:
            return rows
        # Offline: the groups it was stated to reach.
        return [(g, str(RecipientGroup(g).label)) for g in ALL_GROUPS if g in (notice.groups or [])]
    if schedule is None:
        return []
    return [(r.group, r.name) for r in schedule.recipients.all()]


def letterhead(notice: Notice, schedule: NoticeSchedule | None = None) -> Letterhead:
    if schedule is None:
        schedule = NoticeSchedule.objects.filter(region=notice.region_id).prefetch_related("recipients").first()
    rows = recipients_of(notice, schedule)
    body = [p.strip() for p in (notice.covering_text or "").replace("\r\n", "\n").split("\n\n") if p.strip()]
    return Letterhead(
        office=notice.issuing_office or office_name(notice.region, schedule),
        number=notice.document_number,
        title=notice.title,
        main=_names(rows, MAIN_GROUPS),
        copy=_names(rows, COPY_GROUPS),
        body=body,
        date_text=chinese_date(notice.issued_on),
        draft=notice.status == "drafted",
        late=notice.issued_late,
    )
