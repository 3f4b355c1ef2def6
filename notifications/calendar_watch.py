"""The working-day calendar in people's inboxes.

* ``tell_about_recomputed_due_dates`` listens to ``cases.signals.due_dates_recomputed``: when
  entering a year (or a catch-up) counted open cases' due dates again, each department with such
  a case gets one message listing them (an unassigned case: its county office).
* ``remind_awaited_calendar`` runs with the timers (its own beat entry, and ``run_timers``):
  from 1 November until next year's schedule is entered, the city office gets one message a
  week (ISO week) saying how many open cases' due dates are provisional meanwhile.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.db import IntegrityError, transaction
from django.dispatch import receiver
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cases import workcalendar
from cases.models import Region, local_date
from cases.services import RecomputedDue, city_office_users, department_users, office_users
from cases.signals import due_dates_recomputed

from . import services
from .models import CalendarReminder, Kind

LISTED = 20  # cases named in one message; the rest are counted


def recomputed_message(changes: list[RecomputedDue], *, year: int | None) -> str:
    if year is not None:
        text = _(
            "The official holiday schedule of %(year)d has been entered: the due dates of %(n)d of your "
            "open cases were counted again on it."
        ) % {"year": year, "n": len(changes)}
    else:
        text = _("The provisional due dates of %(n)d of your open cases were counted again.") % {"n": len(changes)}
    moved = [c for c in changes if c.moved]
    if not moved:
        return text + " " + _("No due date moved.")
    listed = "; ".join(f"{c.number} {c.before.isoformat()} → {c.after.isoformat()}" for c in moved[:LISTED])
    if len(moved) > LISTED:
        listed += " " + _("and %(n)d more") % {"n": len(moved) - LISTED}
    return text + " " + _("Due dates moved: %(list)s.") % {"list": listed}


@receiver(due_dates_recomputed, dispatch_uid="notifications.tell_about_recomputed_due_dates")
def tell_about_recomputed_due_dates(sender, *, changes: list[RecomputedDue], year: int | None = None, **kwargs) -> None:
    by_department: dict[int, list[RecomputedDue]] = defaultdict(list)
    by_region: dict[int, list[RecomputedDue]] = defaultdict(list)
    for change in changes:
        if change.department_id is not None:
            by_department[change.department_id].append(change)
        else:
            by_region[change.region_id].append(change)
    regions = Region.objects.in_bulk(list(by_region))
    groups = [(department_users(dept), items) for dept, items in sorted(by_department.items())]
    groups += [(office_users(regions[region]), items) for region, items in sorted(by_region.items())]
    with translation.override(settings.LANGUAGE_CODE):  # stored messages read in the site's language
        for users, items in groups:
            services.notify_many(
                users,
                kind=Kind.DUE_RECOMPUTED,
                message=recomputed_message(items, year=year),
                case_id=items[0].case_id if len(items) == 1 else None,
                purpose="due-recomputed",
            )


def iso_week(day: dt.date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def remind_awaited_calendar(now: dt.datetime | None = None) -> CalendarReminder | None:
    """This week's message to the city office while a year's schedule is awaited; None when
    nothing is awaited or this week's message already went out."""
    now = now or timezone.now()
    today = local_date(now)
    awaited = workcalendar.awaited(today)
    if awaited is None:
        return None
    with transaction.atomic():
        try:
            with transaction.atomic():
                reminder = CalendarReminder.objects.create(
                    year=awaited.year, week=iso_week(today), provisional_open=awaited.provisional_open, sent_at=now
                )
        except IntegrityError:
            return None  # another run sent this week's message
        with translation.override(settings.LANGUAGE_CODE):
            message = _(
                "The %(year)d holiday schedule has not been entered yet; the due dates of %(n)d open cases are "
                "provisional."
            ) % {"year": awaited.year, "n": awaited.provisional_open}
        notes = services.notify_many(
            city_office_users(),
            kind=Kind.CALENDAR_AWAITED,
            message=message,
            purpose=f"calendar-awaited:{awaited.year}:{reminder.week}",
        )
        reminder.recipients = len(notes)
        reminder.save(update_fields=["recipients"])
    return reminder
