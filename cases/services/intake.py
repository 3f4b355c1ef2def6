"""Logging a new enterprise problem (受理): its number, its enterprise, its first ledger entry."""
from __future__ import annotations

import datetime as dt

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
    by,
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
    if not is_office(by):
        raise NotAllowed(_("Only a county office or the city office may log a case."))
    require_office(by, region)
    if region.is_city and role_of(by) != Role.CITY_OFFICE:
        raise NotAllowed(_("Only the city office may log a case for the city."))
    name = require_text(enterprise_name, "enterprise_name", _("Enterprise name"), max_length=200, multiline=False)
    code = credit_code.normalize(credit_code_value)
    problem = credit_code.problem(code)
    if problem:
        raise InvalidInput(problem, field="credit_code")
    if enterprise_size is not None and enterprise_size not in Enterprise.Size.values:
        raise InvalidInput(_("Unknown enterprise size class."), field="enterprise_size")
    if category is None:
        raise InvalidInput(_("Category is required."), field="category")
    if channel is None:
        raise InvalidInput(_("Channel is required."), field="channel")
    description = require_text(description, "description", _("Problem description"))
    received_at = received_at or now
    if timezone.is_naive(received_at):
        raise InvalidInput(_("The time of receipt must carry a time zone."), field="received_at")
    problem = receipt_problem(received_at, now=now)
    if problem:
        raise InvalidInput(problem, field="received_at")
    ref = (ref or "").strip() or None
    for field, value in (("ref", ref), ("contact_name", contact_name), ("contact_phone", contact_phone)):
        problem = text_problem(value)
        if problem:
            raise InvalidInput(problem, field=field)
    year = timezone.localtime(received_at).year
    days = category.deadline_for(complex=False)
    # An imported ledger may carry its own 办理时限; otherwise the category's policy decides.
    due = workdays.Due(due_date, False, "given") if due_date else workdays.due_date_for(received_at, days)

    with transaction.atomic():
        # Lock the region row so two intakes in one region cannot take the same serial.
        Region.objects.select_for_update().get(pk=region.pk)
        if ref and Case.objects.filter(region=region, ref=ref).exists():
            raise InvalidInput(_("A case with reference %(ref)s already exists in this region.") % {"ref": ref}, field="ref")
        enterprise, created = Enterprise.objects.get_or_create(
            credit_code=code, defaults={"name": name, "size": enterprise_size or Enterprise.Size.OTHER}
        )
        size = enterprise_size or enterprise.size
        if not created and (enterprise.name != name or enterprise.size != size):
            enterprise.name, enterprise.size = name, size
            enterprise.save(update_fields=["name", "size"])
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
