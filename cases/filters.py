"""Filters of the 台帐 list and its exports (django-filter); choices limited to the user's scope."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters.fields import ModelChoiceField, ModelChoiceIterator

from .access import departments_for_user, regions_for_user
from .input_rules import BoundedDateField
from .models import OPEN_STATES, Case, Category, Department, Region, State
from .queues import Queue, in_queue
from .search.query import scope_department, scope_region, search
from .widgets import FastSelect


def _regions(request):
    return regions_for_user(request.user) if request is not None else Region.objects.none()


def _departments(request):
    return departments_for_user(request.user) if request is not None else Department.objects.none()


class _ListedChoices(ModelChoiceIterator):
    """The choices read by one plain query: Django's reads them through a server-side cursor
    (DECLARE, FETCH and CLOSE on PostgreSQL, three round trips for a dozen rows, on every 台帐 view)."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        if self.field.null_label is not None:
            yield (self.field.null_value, self.field.null_label)
        for obj in list(self.queryset.all()):
            yield self.choice(obj)


class _ListedModelChoiceField(ModelChoiceField):
    iterator = _ListedChoices


class ModelChoiceFilter(django_filters.ModelChoiceFilter):
    """A choice among the user's regions, departments or categories, its options read by one query."""

    field_class = _ListedModelChoiceField


class BoundedDateFilter(django_filters.DateFilter):
    """A day from 2000-01-01 to 2099-12-31 (cases.input_rules.day_problem)."""

    field_class = BoundedDateField


class LedgerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_text",
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Words, case number or credit code")}),
    )
    # The selects are written in Python (cases.widgets), the same HTML as Django's templates give.
    region = ModelChoiceFilter(label=_("Region"), queryset=_regions, empty_label=_("All"), widget=FastSelect)
    department = ModelChoiceFilter(
        label=_("Department"), queryset=_departments, empty_label=_("All"), widget=FastSelect
    )
    state = django_filters.ChoiceFilter(
        label=_("State"), choices=State.choices, empty_label=_("All"), method="filter_state", widget=FastSelect
    )
    category = ModelChoiceFilter(
        label=_("Category"), queryset=Category.objects.all(), empty_label=_("All"), widget=FastSelect
    )
    received_from = BoundedDateFilter(
        label=_("Received from"),
        method="filter_received_from",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    received_to = BoundedDateFilter(
        label=_("Received to"),
        method="filter_received_to",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    overdue = django_filters.ChoiceFilter(
        label=_("Overdue"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        method="filter_overdue",
        empty_label=_("All"),
        widget=FastSelect,
    )
    queue = django_filters.ChoiceFilter(
        label=_("Work queue"), choices=Queue.choices, method="filter_queue", empty_label=_("All"), widget=FastSelect
    )

    class Meta:
        model = Case
        fields: list[str] = []

    def __init__(self, *args, today: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()

    def filter_text(self, queryset, name, value):
        # Chinese words ranked by relevance; a full case number or credit code exactly (cases.search).
        if self.request is None:
            return search(queryset, value)
        user = self.request.user
        return search(queryset, value, region_id=scope_region(user), department_id=scope_department(user))

    def filter_received_from(self, queryset, name, value):
        return queryset.received_from(value)

    def filter_received_to(self, queryset, name, value):
        return queryset.received_to(value)

    def filter_state(self, queryset, name, value):
        if value in OPEN_STATES:  # a department's open cases: its open rows (CaseQuerySet.open_rows_only)
            queryset = queryset.open_rows_only()
        return queryset.filter(state=value) if value else queryset

    def filter_queue(self, queryset, name, value):
        return in_queue(queryset, value, self.today) if value else queryset

    def filter_overdue(self, queryset, name, value):
        if value == "yes":
            return queryset.overdue(self.today)
        if value == "no":
            return queryset.not_overdue(self.today)
        return queryset
