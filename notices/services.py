"""Every change to schedules and notices goes through these functions: UI, admin, API, tasks.

They check the user's scope and the notice's state and write in one transaction; they raise
``cases.errors`` (InvalidInput 400, NotAllowed 403, NotFound 404, WrongState 409).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.errors import InvalidInput, NotAllowed, NotFound, WrongState
from cases.models import Region, local_date
from cases.uploads import check_upload

from . import periods
from .access import can_manage
from .models import (
    ALL_GROUPS,
    EVER_ISSUED_STATES,
    Frequency,
    Notice,
    NoticeSchedule,
    Recipient,
    RecipientGroup,
    Status,
)

SCAN_KINDS = {"application/pdf", "image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff", "image/webp"}


def _require_manager(by, region: Region) -> None:
    if not can_manage(by, region):
        # Outside the user's scope the region does not exist for them.
        if not _sees(by, region):
            raise NotFound(_("No such region."))
        raise NotAllowed(_("Only the county office of this region or the city office may do this."))


def _sees(user, region: Region) -> bool:
    from .access import visible_regions

    return visible_regions(user).filter(pk=region.pk).exists()


def _period(value) -> periods.Period:
    return value if isinstance(value, periods.Period) else periods.parse(value)


# -- schedules -------------------------------------------------------------------------------


def _clean_recipients(recipients: Iterable[dict]) -> list[dict]:
    cleaned: list[dict] = []
    errors: list[str] = []
    seen: set[tuple[str, str]] = set()
    for number, row in enumerate(recipients or [], start=1):
        if not isinstance(row, dict):
            errors.append(_("Recipient %(n)d: give group, name and email.") % {"n": number})
            continue
        group = str(row.get("group") or "").strip()
        name = str(row.get("name") or "").strip()
        email = str(row.get("email") or "").strip().lower()
        if group not in ALL_GROUPS:
            errors.append(
                _("Recipient %(n)d: the group must be city_office, local_leader or department_leader.") % {"n": number}
            )
            continue
        if not name or len(name) > 100:
            errors.append(_("Recipient %(n)d: a name of at most 100 characters is required.") % {"n": number})
            continue
        try:
            validate_email(email)
        except ValidationError:
            errors.append(_("Recipient %(n)d: “%(email)s” is not a valid email address.") % {"n": number, "email": email[:80]})
            continue
        if (group, email) in seen:
            errors.append(_("Recipient %(n)d: this address is already listed in the group.") % {"n": number})
            continue
        seen.add((group, email))
        cleaned.append({"group": group, "name": name, "email": email})
    if errors:
        raise InvalidInput(errors[0], errors={"recipients": errors})
    missing = [g for g in ALL_GROUPS if g not in {r["group"] for r in cleaned}]
    if missing:
        labels = "、".join(str(RecipientGroup(g).label) for g in missing)
        message = _("The schedule needs recipients in all three groups; missing: %(groups)s.") % {"groups": labels}
        raise InvalidInput(message, field="recipients")
    return cleaned


def save_schedule(
    *, by, region: Region, frequency: str = Frequency.MONTHLY, start_date: dt.date | None = None,
    recipients: Iterable[dict], now: dt.datetime | None = None,
) -> tuple[NoticeSchedule, bool]:
    """Create or replace the region's schedule with its recipients. Returns (schedule, created)."""
    now = now or timezone.now()
    _require_manager(by, region)
    frequency = frequency or Frequency.MONTHLY
    if frequency not in Frequency.values:
        raise InvalidInput(_("The frequency must be monthly or quarterly."), field="frequency")
    if start_date is not None and not isinstance(start_date, dt.date):
        raise InvalidInput(_("Give the start date as YYYY-MM-DD."), field="start_date")
    cleaned = _clean_recipients(recipients)
    with transaction.atomic():
        Region.objects.select_for_update().get(pk=region.pk)
        schedule, created = NoticeSchedule.objects.get_or_create(
            region=region,
            defaults={"frequency": frequency, "start_date": start_date, "created_at": now, "updated_at": now,
                      "updated_by": by},
        )
        if not created:
            schedule.frequency, schedule.start_date = frequency, start_date
            schedule.updated_at, schedule.updated_by = now, by
            schedule.save(update_fields=["frequency", "start_date", "updated_at", "updated_by"])
            schedule.recipients.all().delete()
        Recipient.objects.bulk_create(Recipient(schedule=schedule, **row) for row in cleaned)
    return schedule, created


# -- offline registration --------------------------------------------------------------------


def _check_issue_date(issued_on: dt.date | None, period: periods.Period, today: dt.date) -> dt.date:
    if not isinstance(issued_on, dt.date):
        raise InvalidInput(_("Give the issue date as YYYY-MM-DD."), field="issued_on")
    if isinstance(issued_on, dt.datetime):
        issued_on = issued_on.date()
    if issued_on > today:
        raise InvalidInput(_("The issue date cannot be in the future."), field="issued_on")
    if issued_on < period.end:
        raise InvalidInput(
            _("The issue date cannot be before the period ended (%(end)s).") % {"end": period.end.isoformat()},
            field="issued_on",
        )
    return issued_on


def _check_groups(groups) -> list[str]:
    if isinstance(groups, str):
        groups = [g for g in groups.replace(";", ",").split(",")]
    chosen = [str(g).strip() for g in (groups or []) if str(g).strip()]
    unknown = [g for g in chosen if g not in ALL_GROUPS]
    if unknown:
        raise InvalidInput(
            _("Unknown recipient group “%(group)s”: use city_office, local_leader or department_leader.")
            % {"group": unknown[0][:40]},
            field="groups",
        )
    if not chosen:
        raise InvalidInput(_("Choose at least one recipient group the notice went to."), field="groups")
    return [g for g in ALL_GROUPS if g in chosen]


def _in_force(region: Region, period: periods.Period):
    return Notice.objects.filter(region=region, period=period.key, status__in=(Status.ISSUED, Status.OFFLINE))


def register_offline(
    *, by, region: Region, period, issued_on: dt.date, groups, document, title: str = "",
    now: dt.datetime | None = None,
) -> Notice:
    """Register a notice issued outside the system (paper, OA) with its scan, marked offline."""
    now = now or timezone.now()
    _require_manager(by, region)
    period = _period(period)
    issued_on = _check_issue_date(issued_on, period, local_date(now))
    groups = _check_groups(groups)
    if document is None:
        raise InvalidInput(_("Attach the scan of the notice (PDF or image)."), field="document")
    checked = check_upload(document)
    if checked.content_type not in SCAN_KINDS:
        raise InvalidInput(_("The scan must be a PDF or an image."), field="document")
    stored: list[str] = []
    try:
        with transaction.atomic():
            Region.objects.select_for_update().get(pk=region.pk)
            existing = _in_force(region, period).first()
            if existing is not None:
                if existing.offline:
                    message = _("A notice for %(period)s has already been registered offline for this region.")
                else:
                    message = _("A notice for %(period)s has already been issued in the system for this region.")
                raise WrongState(message % {"period": period.key})
            notice = Notice(
                region=region, period=period.key, frequency=period.frequency, period_start=period.start,
                period_end=period.end, status=Status.OFFLINE, offline=True,
                title=(title or "").strip()[:200] or default_title(region, period),
                issued_on=issued_on, issued_at=now, issued_by=by, groups=groups,
                document_name=checked.name, document_type=checked.content_type,
                document_sha256=checked.sha256, created_by=by, created_at=now, updated_at=now,
            )
            notice.document.save(checked.name, checked.upload, save=False)
            stored.append(notice.document.name)
            notice.save()
    except IntegrityError:
        for name in stored:
            default_storage.delete(name)
        raise WrongState(_("A notice for %(period)s has already been registered for this region.") % {"period": period.key}) from None
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise
    return notice


def default_title(region: Region, period: periods.Period) -> str:
    return _("Notice on the handling of enterprise problems in %(region)s, %(period)s") % {
        "region": region.name, "period": period.label,
    }


def issued_notices(region: Region, period: periods.Period):
    return Notice.objects.filter(region=region, period=period.key, status__in=EVER_ISSUED_STATES)
