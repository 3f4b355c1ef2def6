"""Logging a new enterprise problem (受理): its number, its enterprise, its first ledger entry."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import credit_code, workdays
from ..actions import ACTIONS
from ..errors import InvalidInput, NotAllowed
from ..input_rules import receipt_problem, text_problem
from ..models import Case, CaseNumberCounter, Category, Channel, Enterprise, Region
from ..roles import Role, is_office, role_of
from ._steps import append, source_or_web
from .checks import require_office, require_text


def next_serial(region: Region, year: int) -> int:
    """Take the next serial of the region's year from its counter (the caller holds the region's
    row lock, in the transaction that creates the case). The highest serial on record is the
    backstop for cases written around the services (a bulk load), so the counter never lags."""
    counter, _created = CaseNumberCounter.objects.select_for_update().get_or_create(region=region, year=year)
    highest = Case.objects.filter(region=region, year=year).aggregate(m=Max("serial"))["m"] or 0
    counter.last_serial = max(counter.last_serial, highest) + 1
    counter.save(update_fields=["last_serial"])
    return counter.last_serial


def create_case(
    *,
    by: User,
    region: Region,
    enterprise_name: str,
    credit_code_value: str,
    enterprise_size: str | None = None,
    category: Category,
    channel: Channel,
    description: str,
    contact_name: str = "",
    contact_phone: str = "",
    received_at: dt.datetime | None = None,
    ref: str | None = None,
    due_date: dt.date | None = None,
    source: str | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Log a new enterprise problem (受理) and give it the next number of its region and year.

    ``enterprise_size`` None: an enterprise already on record keeps its size class; a new one is
    recorded as "other"."""
    now = now or timezone.now()
    # Who: a county office, the city office (SPEC §2, create → received).
    _require_may_log(by, region)
    # What it requires: the enterprise with a valid credit code, category, channel, description,
    # received_at ≤ now; and what it may carry (reference, contact) must be storable text.
    name, code = _checked_enterprise(enterprise_name, credit_code_value, enterprise_size)
    _require_classified(category, channel)
    description = require_text(description, "description", _("Problem description"))
    received_at = _checked_receipt(received_at or now, now=now)
    ref = (ref or "").strip() or None
    _require_storable(ref=ref, contact_name=contact_name, contact_phone=contact_phone)
    days = category.deadline_for(complex=False)
    # An imported ledger may carry its own 办理时限; otherwise the category's policy decides.
    due = workdays.Due(due_date, False, "given") if due_date else workdays.due_date_for(received_at, days)

    with transaction.atomic():
        # Lock the region row so two intakes in one region cannot take the same serial.
        Region.objects.select_for_update().get(pk=region.pk)
        _require_new_ref(region, ref)
        enterprise = _enterprise_on_record(code, name, enterprise_size)
        year = timezone.localtime(received_at).year
        serial = next_serial(region, year)
        case = Case.objects.create(
            region=region,
            year=year,
            serial=serial,
            number=f"{region.code}-{year}-{serial:05d}",
            ref=ref,
            enterprise=enterprise,
            contact_name=(contact_name or "").strip()[:50],
            contact_phone=(contact_phone or "").strip()[:30],
            category=category,
            channel=channel,
            description=description,
            received_at=received_at,
            due_date=due.date,
            due_date_provisional=due.provisional,
            calendar_version=due.calendar_version,
            created_by=by,
            created_at=now,
        )
        append(
            case,
            ACTIONS["create"],
            by=by,
            from_state="",
            now=now,
            source=source_or_web(source),
            due_date=due.date,
            payload={
                "enterprise": name,
                "credit_code": code,
                "size": enterprise_size,
                "category": category.code,
                "channel": channel.code,
                "description": description,
                "contact_name": case.contact_name,
                "contact_phone": case.contact_phone,
                "received_at": received_at.isoformat(),
                "deadline_days": days,
                "ref": ref,
            },
        )
    return case


# -- create's rules, in the order they are checked ------------------------------------------


def _require_may_log(by, region: Region) -> None:
    """A county office logs cases of its own region, the city office of any; a case of the city
    itself only the city office."""
    if not is_office(by):
        raise NotAllowed(_("Only a county office or the city office may log a case."))
    require_office(by, region)
    if region.is_city and role_of(by) != Role.CITY_OFFICE:
        raise NotAllowed(_("Only the city office may log a case for the city."))


def _checked_enterprise(name: str, credit_code_value: str, size: str | None) -> tuple[str, str]:
    """The enterprise's name and normalized credit code, the code valid under GB 32100-2015, the
    size class (if given) a known one."""
    name = require_text(name, "enterprise_name", _("Enterprise name"), max_length=200, multiline=False)
    code = credit_code.normalize(credit_code_value)
    problem = credit_code.problem(code)
    if problem:
        raise InvalidInput(problem, field="credit_code")
    if size is not None and size not in Enterprise.Size.values:
        raise InvalidInput(_("Unknown enterprise size class."), field="enterprise_size")
    return name, code


def _require_classified(category: Category | None, channel: Channel | None) -> None:
    if category is None:
        raise InvalidInput(_("Category is required."), field="category")
    if channel is None:
        raise InvalidInput(_("Channel is required."), field="channel")


def _checked_receipt(received_at: dt.datetime, *, now: dt.datetime) -> dt.datetime:
    """The time of receipt: time-zone aware, and not after now (``input_rules.receipt_problem``)."""
    if timezone.is_naive(received_at):
        raise InvalidInput(_("The time of receipt must carry a time zone."), field="received_at")
    problem = receipt_problem(received_at, now=now)
    if problem:
        raise InvalidInput(problem, field="received_at")
    return received_at


def _require_storable(**fields: str | None) -> None:
    """Optional text the case carries: no control characters (``input_rules.text_problem``)."""
    for field, value in fields.items():
        problem = text_problem(value)
        if problem:
            raise InvalidInput(problem, field=field)


def _require_new_ref(region: Region, ref: str | None) -> None:
    """An external reference names one case of its region (the import's idempotency key)."""
    if ref and Case.objects.filter(region=region, ref=ref).exists():
        raise InvalidInput(
            _("A case with reference %(ref)s already exists in this region.") % {"ref": ref}, field="ref"
        )


def _enterprise_on_record(code: str, name: str, size: str | None) -> Enterprise:
    """The enterprise of this credit code, recorded now or brought up to date with the name (and
    the size class, if given) this intake states."""
    enterprise, created = Enterprise.objects.get_or_create(
        credit_code=code, defaults={"name": name, "size": size or Enterprise.Size.OTHER}
    )
    size = size or enterprise.size
    if not created and (enterprise.name != name or enterprise.size != size):
        enterprise.name, enterprise.size = name, size
        enterprise.save(update_fields=["name", "size"])
    return enterprise
