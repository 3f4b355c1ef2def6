"""Admin for the working-day calendar: a year is entered as the State Council publishes it.

The form takes the holidays (ranges with names) and the make-up working days; saving goes
through ``cases.workcalendar.enter_year``, which refuses contradictions, versions the year and
recomputes the due dates counted on it (each with a ledger entry). Only the city office edits
the calendar; everyone with admin access may read it. Registered by importing it at the end of
cases/admin.py (which the admin autodiscovers).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import workcalendar
from .admin import NoWritesAdmin, is_city_office
from .errors import InvalidInput
from .models import CalendarDay, CalendarYear, ExtensionRequest


class CalendarYearForm(forms.ModelForm):
    holidays = forms.CharField(
        label=gettext_lazy("Statutory holidays"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=gettext_lazy("One per line: a date or a range with its name, e.g. 2027-10-01..2027-10-07 国庆节"),
    )
    makeup_days = forms.CharField(
        label=gettext_lazy("Make-up working days (调休)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Weekend days that are working days, one per line, e.g. 2027-09-26"),
    )
    from_package = forms.BooleanField(
        label=gettext_lazy("Take the year from the chinesecalendar package"),
        required=False,
        help_text=gettext_lazy(
            "Only when the installed package already knows the year; the fields above are then ignored."
        ),
    )
    revise = forms.BooleanField(
        label=gettext_lazy("Revise: replace the stored days of this year"),
        required=False,
        help_text=gettext_lazy("Needed when the new schedule contradicts the stored one; the version goes up."),
    )

    class Meta:
        model = CalendarYear
        fields = ["year", "reference"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["year"].disabled = True
            holidays, makeup = workcalendar.schedule_text(workcalendar.schedule_of(self.instance))
            self.initial.setdefault("holidays", holidays)
            self.initial.setdefault("makeup_days", makeup)

    def clean(self):
        data = super().clean()
        year = data.get("year") or self.instance.year
        if not year or self.errors:
            return data
        try:
            if data.get("from_package"):
                schedule = workcalendar.from_chinesecalendar(year)
                self.source = workcalendar.chinesecalendar_source()
            else:
                schedule = workcalendar.YearSchedule(year)
                for day, name in workcalendar.parse_named_dates(data.get("holidays", ""), field_name="holidays"):
                    schedule.holidays[day] = name or _("holiday")
                schedule.makeup_days = set(
                    workcalendar.parse_dates(data.get("makeup_days", ""), field_name="makeup_days")
                )
                self.source = "admin"
            schedule.check()
        except InvalidInput as error:
            raise forms.ValidationError(error.message) from None
        existing = CalendarYear.objects.filter(year=year).first()
        if existing is not None and not data.get("revise"):
            conflicts, _missing = workcalendar.differences(existing, schedule.rows())
            if conflicts:
                raise forms.ValidationError(workcalendar.conflict_message(existing, conflicts))
        self.schedule = schedule
        return data


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    form = CalendarYearForm
    list_display = ["year", "version", "source", "reference", "updated_at"]
    readonly_fields = ["version", "source", "entered_by", "updated_at", "exceptional_days"]

    @admin.display(description=gettext_lazy("Holidays and make-up working days"))
    def exceptional_days(self, obj):
        if not obj or not obj.pk:
            return "—"
        days = CalendarDay.objects.filter(calendar=obj).exclude(kind__in=["workday", "weekend"]).order_by("date")
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "", "<li>{} {} {}</li>", ((d.date.isoformat(), d.get_kind_display(), d.name) for d in days)
            ),
        )

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return is_city_office(request.user)

    def has_change_permission(self, request, obj=None):
        return is_city_office(request.user)

    def has_delete_permission(self, request, obj=None):
        return False  # due dates were counted on it; a wrong year is revised, not deleted

    def save_model(self, request, obj, form, change):
        try:
            year, recomputed = workcalendar.enter_year(
                form.schedule,
                by=request.user,
                source=form.source,
                reference=form.cleaned_data.get("reference", ""),
                revise=bool(form.cleaned_data.get("revise")),
            )
        except InvalidInput as error:  # a race with another edit: nothing was written
            self.message_user(request, error.message, messages.ERROR)
            raise
        obj.pk, obj.version, obj.source, obj.updated_at = year.pk, year.version, year.source, year.updated_at
        obj._state.adding = False
        self.message_user(
            request,
            _("Calendar %(year)d saved as version %(version)d; %(n)d due dates recomputed.")
            % {"year": year.year, "version": year.version, "n": recomputed},
            messages.SUCCESS,
        )


@admin.register(CalendarDay)
class CalendarDayAdmin(NoWritesAdmin):
    """Days are entered a whole year at a time, on the year's page."""

    list_display = ["date", "kind", "name", "is_workday", "calendar"]
    list_filter = ["calendar__year", "kind"]
    date_hierarchy = "date"
    search_fields = ["name"]

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(NoWritesAdmin):
    """Read-only: requests and decisions are made on the case page, through the services."""

    list_display = ["case", "days", "status", "requested_by", "requested_at", "decided_by", "decided_at"]
    list_filter = ["status"]
    search_fields = ["case__number", "reason"]

    def get_queryset(self, request):
        from .models import Case

        return (
            super()
            .get_queryset(request)
            .filter(case__in=Case.objects.for_user(request.user))
            .select_related("case", "requested_by", "decided_by")
        )

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff
