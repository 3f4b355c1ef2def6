"""Every change to schedules and notices goes through these functions: UI, admin, API, tasks.

They check the user's scope and the notice's state and write in one transaction; they raise
``cases.errors`` (InvalidInput 400, NotAllowed 403, NotFound 404, WrongState 409).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.errors import InvalidInput, NotAllowed, NotFound, WrongState
from cases.input_rules import text_problem
from cases.models import Case, Region, local_date
from cases.services import office_users
from cases.uploads import check_upload, files_removed_on_failure
from ledger import checkpoint as ledger_checkpoint
from notifications import services as notifications
from notifications.models import Delivery

from . import document, drafting, figures, periods
from .access import can_manage
from .models import (
    ALL_GROUPS,
    EVER_ISSUED_STATES,
    ISSUED_STATES,
    Frequency,
    Notice,
    NoticeDelivery,
    NoticeSchedule,
    Recipient,
    RecipientGroup,
    Status,
)

log = logging.getLogger(__name__)

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
            errors.append(
                _("Recipient %(n)d: “%(email)s” is not a valid email address.") % {"n": number, "email": email[:80]}
            )
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
    *,
    by,
    region: Region,
    frequency: str = Frequency.MONTHLY,
    start_date: dt.date | None = None,
    recipients: Iterable[dict],
    now: dt.datetime | None = None,
    office_name: str | None = None,
    number_prefix: str | None = None,
) -> tuple[NoticeSchedule, bool]:
    """Create or replace the region's schedule with its recipients. Returns (schedule, created).

    ``office_name`` and ``number_prefix`` (the red header and the 文号 abbreviation): None keeps
    what the schedule has, "" goes back to the default derived from the region's name.
    """
    now = now or timezone.now()
    _require_manager(by, region)
    office_name = _clean_text(office_name, 100, "office_name")
    number_prefix = _clean_text(number_prefix, 20, "number_prefix")
    if number_prefix and any(ch in number_prefix for ch in "〔〕[]()（）0123456789"):
        raise InvalidInput(
            _("Give the abbreviation only, e.g. 罗服办: the year and serial are added when a notice is issued."),
            field="number_prefix",
        )
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
            defaults={
                "frequency": frequency,
                "start_date": start_date,
                "created_at": now,
                "updated_at": now,
                "updated_by": by,
            },
        )
        if not created:
            schedule.frequency, schedule.start_date = frequency, start_date
            schedule.updated_at, schedule.updated_by = now, by
        if office_name is not None:
            schedule.office_name = office_name
        if number_prefix is not None:
            schedule.number_prefix = number_prefix
        schedule.save(
            update_fields=["frequency", "start_date", "updated_at", "updated_by", "office_name", "number_prefix"]
        )
        if not created:
            schedule.recipients.all().delete()
        Recipient.objects.bulk_create(Recipient(schedule=schedule, **row) for row in cleaned)
    return schedule, created


def _clean_text(value, limit: int, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(_("This field must be text."), field=field)
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(_("At most %(limit)d characters.") % {"limit": limit}, field=field)
    return value


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
        groups = [groups]
    elif groups is not None and not isinstance(groups, list | tuple):
        raise InvalidInput(_("Give the recipient groups as a list."), field="groups")
    # "a,b" or "a;b" in one value (a form field, a multipart part) names several groups.
    chosen = [g.strip() for value in (groups or []) for g in str(value).replace(";", ",").split(",") if g.strip()]
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
    return Notice.objects.filter(region=region, period=period.key, status__in=ISSUED_STATES)


def register_offline(
    *,
    by,
    region: Region,
    period,
    issued_on: dt.date,
    groups,
    document,
    title: str = "",
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
    notice = Notice(
        region=region,
        period=period.key,
        frequency=period.frequency,
        period_start=period.start,
        period_end=period.end,
        status=Status.OFFLINE,
        offline=True,
        title=(title or "").strip()[:200] or default_title(region, period),
        issued_on=issued_on,
        issued_at=now,
        issued_by=by,
        groups=groups,
        document_name=checked.name,
        document_type=checked.content_type,
        document_sha256=checked.sha256,
        created_by=by,
        created_at=now,
        updated_at=now,
    )
    with files_removed_on_failure() as stored:
        # The scan is written before the region's lock is taken; removed again if anything fails.
        notice.document.save(checked.name, checked.upload, save=False)
        stored.append(notice.document.name)
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
                notice.save()
        except IntegrityError:
            raise WrongState(
                _("A notice for %(period)s has already been registered for this region.") % {"period": period.key}
            ) from None
    return notice


def default_title(region: Region, period: periods.Period) -> str:
    return _("Notice on the handling of enterprise problems in %(region)s, %(period)s") % {
        "region": region.name,
        "period": period.label,
    }


# -- drafting --------------------------------------------------------------------------------


def _draft_for(region: Region, period: periods.Period):
    return Notice.objects.filter(region=region, period=period.key, status=Status.DRAFTED)


def fill_from(notice: Notice, region: Region, period: periods.Period, found: figures.Figures, now: dt.datetime) -> None:
    """Put the figures (``notices.figures``: stored or computed now) into the notice, with the
    changes against the previous period and the body drafted from them."""
    computed = found.result
    previous, previous_key = drafting.previous_figures(region, period)
    notice.figures = computed["figures"]
    notice.departments = computed["departments"]
    notice.figures_mark = found.mark
    notice.figures_computed_at = found.computed_at
    notice.changes = drafting.changes(notice.figures, previous, previous_key)
    # The body is redrafted from the new figures unless the office has written its own.
    body = document.draft_body(region, period, notice.figures)
    if not (notice.covering_text or "").strip() or notice.covering_text == notice.drafted_text:
        notice.covering_text = body
    notice.drafted_text = body
    notice.drafted_at = now
    notice.updated_at = now


def draft_notice(*, by, region: Region, period, now: dt.datetime | None = None, system: bool = False) -> Notice:
    """Draft the region's notice for the period from the ledger, or refresh the existing draft.

    Idempotent: one draft per region and period. When a notice for the period is already in
    force, a new draft is refused (a correction is made from the issued notice); ``system`` runs
    (the beat task) get the notice in force back instead.
    """
    now = now or timezone.now()
    if not system:
        _require_manager(by, region)
    period = _period(period)
    if period.start > local_date(now):
        raise InvalidInput(_("The period %(period)s has not begun yet.") % {"period": period.key}, field="period")
    # Read (or computed and stored) before the transaction: the region stays unlocked meanwhile.
    held = _draft_for(region, period).values_list("figures_computed_at", flat=True).first()
    found = figures.for_draft(region, period, held=held)
    with transaction.atomic():
        Region.objects.select_for_update().get(pk=region.pk)
        drafts = _draft_for(region, period).select_for_update()
        if found.result is None:
            # The draft holds these figures already: neither read nor rewritten (megabytes at a
            # large county), unless the previous period's notice they are compared with changed.
            notice = drafts.defer("figures", "departments", "changes").first()
            if (
                notice is not None
                and notice.figures_computed_at == found.computed_at
                and not _previous_changed_since(region, period, notice.drafted_at)
            ):
                notice.figures_mark, notice.drafted_at, notice.updated_at = found.mark, now, now
                notice.save(update_fields=["figures_mark", "drafted_at", "updated_at"])
                return notice
            found = figures.with_result(region, period, found)
        notice = drafts.first()
        if notice is None:
            in_force = _in_force(region, period).first()
            if in_force is not None:
                if system:
                    return in_force
                raise WrongState(
                    _("The notice for %(period)s has already been issued; make a correction of it instead.")
                    % {"period": period.key}
                )
            notice = Notice(
                region=region,
                period=period.key,
                frequency=period.frequency,
                period_start=period.start,
                period_end=period.end,
                status=Status.DRAFTED,
                title=default_title(region, period),
                created_by=by,
                created_at=now,
            )
        fill_from(notice, region, period, found, now)
        notice.save()
    return notice


def _previous_changed_since(region: Region, period: periods.Period, moment: dt.datetime | None) -> bool:
    """Has a notice of the previous period (whose figures ``changes`` compares with) been drafted,
    issued, registered or corrected since ``moment``?"""
    if moment is None:
        return True
    previous = Notice.objects.filter(region=region, period=period.previous().key)
    return previous.filter(Q(updated_at__gt=moment) | Q(created_at__gt=moment) | Q(superseded_at__gt=moment)).exists()


def update_draft(
    *, by, notice: Notice, title: str | None = None, covering_text: str | None = None, now: dt.datetime | None = None
) -> Notice:
    """The office edits the title and covering text of a draft; an issued notice refuses."""
    now = now or timezone.now()
    _require_manager(by, notice.region)
    with transaction.atomic():
        notice = Notice.objects.select_for_update().get(pk=notice.pk)
        if not notice.is_draft:
            raise WrongState(_("An issued notice cannot be changed; make a correction of it instead."))
        if title is not None:
            title = title.strip()
            if not title:
                raise InvalidInput(_("The title is required."), field="title")
            if len(title) > 200:
                raise InvalidInput(_("The title is too long (at most 200 characters)."), field="title")
            # The title is an email subject when the notice is sent: a line break would fail every delivery.
            problem = text_problem(title)
            if problem:
                raise InvalidInput(problem, field="title")
            notice.title = title
        if covering_text is not None:
            if len(covering_text) > 20000:
                raise InvalidInput(
                    _("The covering text is too long (at most 20000 characters)."), field="covering_text"
                )
            problem = text_problem(covering_text, multiline=True)
            if problem:
                raise InvalidInput(problem, field="covering_text")
            notice.covering_text = covering_text.strip()
        notice.updated_at = now
        notice.save(update_fields=["title", "covering_text", "updated_at"])
    return notice


def correct_notice(*, by, notice: Notice, now: dt.datetime | None = None) -> Notice:
    """Start a correction: a new draft of the same period that will supersede the issued notice."""
    now = now or timezone.now()
    _require_manager(by, notice.region)
    period = notice.period_obj
    found = figures.for_draft(notice.region, period)
    with transaction.atomic():
        Region.objects.select_for_update().get(pk=notice.region_id)
        original = Notice.objects.select_for_update().get(pk=notice.pk)
        if original.status not in ISSUED_STATES:
            raise WrongState(_("Only the notice in force can be corrected."))
        draft = _draft_for(original.region, period).select_for_update().first()
        if draft is None:
            draft = Notice(
                region=original.region,
                period=original.period,
                frequency=original.frequency,
                period_start=original.period_start,
                period_end=original.period_end,
                status=Status.DRAFTED,
                title=original.title,
                covering_text=original.covering_text,
                created_by=by,
                created_at=now,
            )
        draft.supersedes = original
        fill_from(draft, original.region, period, found, now)
        draft.save()
    return draft


# -- issuing and delivery --------------------------------------------------------------------


class EmptyBody(InvalidInput):
    """Issuing a draft whose body is empty: the office must confirm it means to."""


def issue_notice(*, by, notice: Notice, now: dt.datetime | None = None, confirm_empty_body: bool = False) -> Notice:
    """Issue a draft: number it (文号), date it, archive it, and deliver it to every recipient.

    A draft with an empty body is refused (``EmptyBody``) unless ``confirm_empty_body``. Issuing
    an issued notice again only retries the recipients not yet reached: every recipient gets it
    once.
    """
    now = now or timezone.now()
    _require_manager(by, notice.region)
    today = local_date(now)
    first_issue = False
    with transaction.atomic():
        Region.objects.select_for_update().get(pk=notice.region_id)
        notice = Notice.objects.select_for_update().select_related("region").get(pk=notice.pk)
        if notice.status in (Status.OFFLINE, Status.SUPERSEDED):
            raise WrongState(
                _("This notice is %(status)s and cannot be issued.") % {"status": notice.get_status_display()}
            )
        if notice.status == Status.DRAFTED:
            period = notice.period_obj
            if today < period.end:
                raise WrongState(
                    _("The period %(period)s ends on %(end)s; issue its notice from then on.")
                    % {"period": period.key, "end": period.end.isoformat()}
                )
            schedule = NoticeSchedule.objects.filter(region=notice.region).prefetch_related("recipients").first()
            if schedule is None or set(ALL_GROUPS) - schedule.groups_covered():
                raise InvalidInput(
                    _("Set up the notice schedule with recipients in all three groups before issuing."),
                    field="recipients",
                )
            if not (notice.covering_text or "").strip() and not confirm_empty_body:
                raise EmptyBody(
                    _(
                        "The notice has no body text: the recipients would get the tables only. "
                        "Write the body, or confirm that it goes out without one."
                    ),
                    field="covering_text",
                )
            # The figures issued are those drafting gives now: the draft's, if no entry since
            # changed them (one query), else computed here, in the transaction that issues them.
            if not figures.is_current(notice, names=True):
                body = notice.covering_text
                fill_from(notice, notice.region, period, figures.exact(notice.region, period), now)
                if not (body or "").strip():
                    notice.covering_text = body  # issued without a body, as confirmed
            in_force = _in_force(notice.region, period).select_for_update().first()
            if in_force is not None:
                if notice.supersedes_id != in_force.pk:
                    raise WrongState(
                        _("The notice for %(period)s has already been issued; make a correction of it instead.")
                        % {"period": period.key}
                    )
                in_force.status, in_force.superseded_at = Status.SUPERSEDED, now
                in_force.save(update_fields=["status", "superseded_at", "updated_at"])
            notice.status, notice.issued_on, notice.issued_at, notice.issued_by = Status.ISSUED, today, now, by
            notice.number_year = today.year
            notice.number_serial = document.allocate_number(notice.region, today.year)
            notice.document_number = document.format_number(
                document.number_prefix(notice.region, schedule), notice.number_year, notice.number_serial
            )
            notice.issuing_office = document.office_name(notice.region, schedule)
            notice.ledger_checkpoint = ledger_checkpoint.latest_for_region(
                notice.region.code
            ) or ledger_checkpoint.take(Case.objects.filter(region=notice.region), now=now)
            notice.groups = []
            notice.updated_at = now
            notice.save()
            NoticeDelivery.objects.bulk_create(
                [
                    NoticeDelivery(notice=notice, recipient=r, group=r.group, name=r.name, email=r.email)
                    for r in schedule.recipients.all()
                ],
                ignore_conflicts=True,
            )
            first_issue = True
    if first_issue:
        _notify_office(notice)
    # Issuing again sends only to rows never tried; failed ones are the sweep's to retry.
    send_deliveries(notice, now=now)
    notice.refresh_from_db()
    return notice


def _notify_office(notice: Notice) -> None:
    """The office the notice is about hears of it in its inbox (email after commit)."""
    message = _("The notice “%(title)s” for %(period)s has been issued.") % {
        "title": notice.title,
        "period": notice.period,
    }
    notifications.notify_many(office_users(notice.region), kind="notice_issued", message=message)


def send_deliveries(notice: Notice, *, now: dt.datetime | None = None) -> int:
    """Send to every recipient not yet tried; returns how many were sent now.

    Each row is claimed with a compare-and-swap UPDATE first (``claimed_at`` set, ``attempts``
    counted), so two issuers running at once never send to one recipient twice. A row whose
    claim is older than ``NOTICE_DELIVERY_CLAIM_TIMEOUT_SECONDS`` was left "sending" by a worker
    that died mid-send: it is reclaimed first (``reclaim_stale_deliveries``) and sent again. A
    failed attempt is retried by the notifications sweep (``notifications.services.recover_and_send``),
    never here: ``sync_deliveries`` then records the retried delivery on the row.
    """
    now = now or timezone.now()
    started = timezone.now()
    reclaim_stale_deliveries(now=now, notice=notice)
    subject, body = render_message(notice)
    sent = 0
    for row in NoticeDelivery.objects.filter(notice=notice, state=NoticeDelivery.State.PENDING).order_by("id"):
        # The moment of this claim: ``now`` moved on by the time spent sending the rows before
        # it, so a slow run's later claims do not look older than they are.
        claimed_at = now + (timezone.now() - started)
        claimed = NoticeDelivery.objects.filter(pk=row.pk, state=NoticeDelivery.State.PENDING).update(
            state=NoticeDelivery.State.SENDING, attempts=F("attempts") + 1, claimed_at=claimed_at
        )
        if claimed != 1:
            continue
        record = notifications.deliver(
            "email",
            address=row.email,
            subject=subject,
            body=body,
            purpose=delivery_purpose(notice, row),
        )
        ok = record.status == record.Status.SENT
        # Our claim, or the row put back to pending after it expired and not claimed again yet
        # (never the outcome of a newer claim's send).
        ours = Q(claimed_at=claimed_at, state=NoticeDelivery.State.SENDING) | Q(state=NoticeDelivery.State.PENDING)
        recorded = NoticeDelivery.objects.filter(ours, pk=row.pk).update(
            state=NoticeDelivery.State.SENT if ok else NoticeDelivery.State.FAILED,
            delivery=record,
            sent_at=record.attempted_at if ok else None,
            claimed_at=None,
            error=record.error,
        )
        if not recorded:
            log.warning("notice delivery %s finished after its claim was taken over", row.pk)
        sent += ok
    sync_deliveries(notice)
    return sent


def _claim_timeout() -> dt.timedelta:
    return dt.timedelta(seconds=settings.NOTICE_DELIVERY_CLAIM_TIMEOUT_SECONDS)


def reclaim_stale_deliveries(*, now: dt.datetime | None = None, notice: Notice | None = None) -> tuple[int, int]:
    """Rows left "sending" by a worker that died mid-send — claimed longer ago than the claim
    timeout, which is longer than an SMTP conversation may take (``EMAIL_TIMEOUT``) — go back to
    pending, to be sent by the next run; a row claimed ``NOTICE_DELIVERY_MAX_ATTEMPTS`` times
    already (a message that kills its sender) is failed with the reason instead. Returns
    (requeued, failed). A fresh claim is left alone: its sender may still be talking to SMTP."""
    now = now or timezone.now()
    stale = NoticeDelivery.objects.filter(state=NoticeDelivery.State.SENDING, claimed_at__lt=now - _claim_timeout())
    if notice is not None:
        stale = stale.filter(notice=notice)
    limit = settings.NOTICE_DELIVERY_MAX_ATTEMPTS
    failed = stale.filter(attempts__gte=limit).update(
        state=NoticeDelivery.State.FAILED,
        claimed_at=None,
        error=f"interrupted {limit} times: the sending process stopped mid-send each time; not retried",
    )
    requeued = stale.filter(attempts__lt=limit).update(state=NoticeDelivery.State.PENDING, claimed_at=None)
    if failed or requeued:
        log.warning("notice deliveries left sending: %s back to pending, %s failed", requeued, failed)
    return requeued, failed


def send_pending_deliveries(*, now: dt.datetime | None = None) -> int:
    """The beat task's catch-up: reclaim deliveries left "sending" by dead workers, then send
    every pending delivery of a notice in force (reclaimed, or never tried because the issuing
    process stopped; a superseded notice's are not sent: its correction is). Returns how many
    were sent."""
    now = now or timezone.now()
    reclaim_stale_deliveries(now=now)
    notices = Notice.objects.filter(
        pk__in=NoticeDelivery.objects.filter(state=NoticeDelivery.State.PENDING).values("notice_id"),
        status=Status.ISSUED,
    ).order_by("id")
    return sum(send_deliveries(notice, now=now) for notice in notices)


def delivery_purpose(notice: Notice, row: NoticeDelivery) -> str:
    return f"notice:{notice.pk}:recipient:{row.pk}"


def sync_deliveries(notice: Notice) -> None:
    """Take over retries the notifications sweep has sent, then record the groups reached."""
    failed = {
        delivery_purpose(notice, row): row
        for row in NoticeDelivery.objects.filter(notice=notice, state=NoticeDelivery.State.FAILED)
    }
    # One query for all of them: the latest sent delivery per purpose (and address).
    latest: dict[tuple[str, str], Delivery] = {}
    for delivery in Delivery.objects.filter(purpose__in=list(failed), status=Delivery.Status.SENT).order_by(
        "purpose", "-attempted_at"
    ):
        latest.setdefault((delivery.purpose, delivery.address), delivery)
    for purpose, row in failed.items():
        retried = latest.get((purpose, row.email))
        if retried is not None:
            NoticeDelivery.objects.filter(pk=row.pk, state=NoticeDelivery.State.FAILED).update(
                state=NoticeDelivery.State.SENT,
                delivery=retried,
                sent_at=retried.attempted_at,
                error="",
            )
    _record_groups_reached(notice)


def _record_groups_reached(notice: Notice) -> None:
    reached = set(
        NoticeDelivery.objects.filter(notice=notice, state=NoticeDelivery.State.SENT).values_list("group", flat=True)
    )
    groups = [g for g in ALL_GROUPS if g in reached]
    fresh = Notice.objects.get(pk=notice.pk)
    if fresh.groups != groups and fresh.status in EVER_ISSUED_STATES:
        fresh.groups = groups
        fresh.save(update_fields=["groups"])


def render_message(notice: Notice) -> tuple[str, str]:
    from django.template.loader import render_to_string

    body = render_to_string("notices/notice_email.txt", {"notice": notice, "view": presentation(notice)})
    return notice.title[:200], body


def presentation(notice: Notice) -> dict:
    """What the page, the printout, the email and the XLSX show, with labels."""
    figures = notice.figures or {}
    rate_value = figures.get("on_time_rate")
    return {
        "rows": [
            (_("Cases received"), figures.get("received")),
            (_("Cases routed to departments"), figures.get("assigned")),
            (_("Cases resolved"), figures.get("resolved")),
            (_("Cases answered with an explanation"), figures.get("explained")),
            (_("Cases open at the end of the period"), figures.get("open")),
            (_("Cases closed on time"), figures.get("on_time")),
            (_("On-time rate"), f"{Decimal(rate_value) * 100:.2f}%" if rate_value is not None else "—"),
            (_("Overdue cases"), len(figures.get("overdue", []))),
            (_("Supervised cases (督办)"), len(figures.get("supervised", []))),
        ],
        "overdue": figures.get("overdue_cases", []),
        "supervised": [c for c in figures.get("overdue_cases", []) if c.get("supervised")],
        "departments": notice.departments or [],
        "changes": _change_rows(notice.changes),
        "previous_period": (notice.changes or {}).get("previous_period"),
    }


def _change_rows(changes: dict | None) -> list[tuple[str, str]]:
    if not changes:
        return []
    labels = [
        ("received", _("Cases received")),
        ("assigned", _("Cases routed to departments")),
        ("resolved", _("Cases resolved")),
        ("explained", _("Cases answered with an explanation")),
        ("open", _("Cases open at the end of the period")),
        ("overdue", _("Overdue cases")),
        ("supervised", _("Supervised cases (督办)")),
    ]
    rows = []
    for key, label in labels:
        if key in changes and changes[key] is not None:
            rows.append((label, f"{changes[key]:+d}"))
    if changes.get("on_time_rate") is not None:
        rows.append((_("On-time rate"), f"{Decimal(changes['on_time_rate']) * 100:+.2f}%"))
    return rows


def sync_failed_deliveries() -> int:
    """Record retries of failed notice deliveries sent by the notifications sweep (beat task)."""
    notices = Notice.objects.filter(
        pk__in=NoticeDelivery.objects.filter(state=NoticeDelivery.State.FAILED).values("notice_id"),
        status__in=EVER_ISSUED_STATES,
    )
    count = 0
    for notice in notices:
        sync_deliveries(notice)
        count += 1
    return count


def draft_due_notices(*, now: dt.datetime | None = None) -> list[Notice]:
    """For every schedule, draft the notice of the period that ended last (unless already issued)."""
    now = now or timezone.now()
    today = local_date(now)
    drafted = []
    for schedule in NoticeSchedule.objects.select_related("region"):
        period = periods.last_ended(today, schedule.frequency)
        if _in_force(schedule.region, period).exists():
            continue
        drafted.append(draft_notice(by=None, region=schedule.region, period=period, now=now, system=True))
    return drafted
