"""The working-day calendar in the app: the years as they stand, and the city office entering next
year's official schedule (国务院办公厅 notice) with a preview of what it changes before saving.

Entering goes through ``cases.workcalendar`` (the same as the admin and ``enter_calendar_year``):
the days are stored, every open case's due date counted on that year is recomputed with a ledger
entry, and each affected department is told in its inbox.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from . import statutory, workcalendar
from .errors import InvalidInput, NotAllowed
from .models import CalendarDay, CalendarYear
from .roles import Role, role_of

SHOWN_DUE_CHANGES = 200  # rows of the preview's table; the rest are counted


class NoticeForm(forms.Form):
    """The dates a State Council notice lists for one year."""

    reference = forms.CharField(
        label=gettext_lazy("Official notice"),
        max_length=200,
        help_text=gettext_lazy("The notice the dates come from, e.g. 国办发明电〔2026〕12号."),
    )
    holidays = forms.CharField(
        label=gettext_lazy("Holidays (days off)"),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=5000,
        help_text=gettext_lazy(
            "One per line, as the notice lists them: a date or a range with its name, "
            "e.g. 2027-02-05..2027-02-13 春节. Weekends inside a range may be included."
        ),
    )
    makeup_days = forms.CharField(
        label=gettext_lazy("Make-up working days (调休)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Weekend days that are working days, one per line, e.g. 2027-02-20."),
    )
    revise = forms.BooleanField(
        label=gettext_lazy("Replace the stored schedule of this year (a revised notice)"),
        required=False,
    )

    def __init__(self, *args, year: int, existing, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.year = year
        if existing is None:
            del self.fields["revise"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.schedule = workcalendar.schedule_from_text(self.year, data["holidays"], data.get("makeup_days", ""))
            self.plan = workcalendar.plan_year(self.schedule)
        except InvalidInput as error:
            self.add_error(error.field if error.field in self.fields else None, error.message)
            return data
        if self.plan.conflicts and not data.get("revise"):
            self.add_error(None, workcalendar.conflict_message(self.plan.existing, self.plan.conflicts))
        return data


def _city_office_only(request) -> None:
    if role_of(request.user) != Role.CITY_OFFICE:
        raise NotAllowed(_("Only the city office enters the official holiday schedule."))


def enterable_years(today: dt.date) -> range:
    """The years the form takes: last year (a late revision), this year and next year."""
    return range(today.year - 1, today.year + 2)


@require_GET
@login_required
def calendar_index(request):
    today = timezone.localdate()
    years = {
        y.year: y for y in CalendarYear.objects.filter(year__in=enterable_years(today)).select_related("entered_by")
    }
    rows = []
    for year in enterable_years(today):
        entered = years.get(year)
        rule = None if entered else statutory.rule_for(year)
        rows.append(
            {
                "year": year,
                "entered": entered,
                "rule": rule,
                "statutory": sorted(statutory.holidays(year).items()) if not entered else [],
            }
        )
    return render(
        request,
        "cases/calendar.html",
        {
            "rows": rows,
            "awaited": workcalendar.awaited(today),
            "can_enter": role_of(request.user) == Role.CITY_OFFICE,
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def calendar_enter(request, year: int):
    try:
        _city_office_only(request)
    except NotAllowed as error:
        return render(request, "cases/refused.html", {"message": error.message}, status=403)
    today = timezone.localdate()
    if year not in enterable_years(today):
        raise Http404(_("Only last year, this year and next year are entered here."))
    existing = CalendarYear.objects.filter(year=year).first()
    initial = {}
    if existing is not None:
        initial["holidays"], initial["makeup_days"] = workcalendar.schedule_text(workcalendar.schedule_of(existing))
        initial["reference"] = existing.reference
    form = NoticeForm(request.POST or None, initial=initial, year=year, existing=existing)
    context = {
        "form": form,
        "year": year,
        "existing": existing,
        "plan": None,
        "rule": statutory.rule_for(year),
        "statutory": sorted(statutory.holidays(year).items()),
    }
    if request.method == "GET":
        return render(request, "cases/calendar_enter.html", context)
    if not form.is_valid():
        return render(request, "cases/calendar_enter.html", context, status=400)
    plan = form.plan
    if "confirm" not in request.POST or request.POST.get("fingerprint") != plan.fingerprint():
        if "confirm" in request.POST:
            messages.warning(request, _("The dates changed since the preview: check the difference again, then save."))
        moved = plan.moved
        context.update(
            plan=plan,
            day_changes=[_day_change_row(c) for c in plan.day_changes],
            moved=moved[:SHOWN_DUE_CHANGES],
            moved_hidden=max(0, len(moved) - SHOWN_DUE_CHANGES),
            unmoved=len(plan.due_changes) - len(moved),
        )
        return render(request, "cases/calendar_enter.html", context)
    try:
        entered, recomputed = workcalendar.enter_year(
            form.schedule,
            by=request.user,
            source="app",
            reference=form.cleaned_data["reference"],
            revise=bool(form.cleaned_data.get("revise")),
        )
    except InvalidInput as error:  # changed by someone else meanwhile: nothing was written
        form.add_error(None, error.message)
        return render(request, "cases/calendar_enter.html", context, status=400)
    messages.success(
        request,
        _(
            "The %(year)d schedule is saved (version %(version)d); %(n)d open cases' due dates were recomputed "
            "and their departments told."
        )
        % {"year": entered.year, "version": entered.version, "n": recomputed},
    )
    return redirect("cases:calendar")


def _day_label(is_workday: bool, kind: str, name: str) -> str:
    label = str(CalendarDay.Kind(kind).label)
    return f"{label} · {_(name)}" if name and not is_workday else label


def _day_change_row(change: workcalendar.DayChange) -> dict:
    return {
        "date": change.date,
        "was": _day_label(change.was_workday, change.was_kind, change.was_name),
        "now": _day_label(change.row.is_workday, change.row.kind, change.row.name),
        "now_workday": change.row.is_workday,
        "statutory_now_workday": change.statutory_now_workday,
    }
