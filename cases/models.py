"""Regions, departments, enterprises and the case (企业问题) with its state machine.

The state field is protected: it changes only through a transition, and the transitions are
called only by ``cases.services`` (which lock the row, check permission and write the ledger).
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from pathlib import Path
from typing import overload

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.expressions import Col
from django.db.models.lookups import Exact, GreaterThan, GreaterThanOrEqual, In, LessThan, LessThanOrEqual
from django.db.models.sql.where import AND, WhereNode
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, FSMFieldMixin, FSMModelMixin, transition

from .actions import fsm
from .credit_code import validate_credit_code
from .scope import Scope, scope_of
from .states import CLOSED_STATES, OPEN_STATES, State, state_label  # noqa: F401 - read from here too


class RegionQuerySet(models.QuerySet):
    def visible_to(self, scope: Scope) -> RegionQuerySet:
        """Regions the user may act or look in (a department: its own region)."""
        if scope.every_region:
            return self
        if scope.region_id:
            return self.filter(pk=scope.region_id)
        if scope.department_id:
            return self.filter(departments=scope.department_id)
        return self.none()

    def read_by(self, scope: Scope) -> RegionQuerySet:
        """Regions whose notices and scores the user reads (a department: none)."""
        if scope.every_region:
            return self
        return self.filter(pk=scope.region_id) if scope.region_id else self.none()


class Region(models.Model):
    """A county/district (县区) or the city itself, by GB/T 2260 code."""

    class Level(models.TextChoices):
        CITY = "city", _("City")
        COUNTY = "county", _("County or district")

    code = models.CharField(_("code"), max_length=6, unique=True)
    name = models.CharField(_("name"), max_length=50)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices, default=Level.COUNTY)

    objects = RegionQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def is_city(self) -> bool:
        return self.level == self.Level.CITY


class DepartmentQuerySet(models.QuerySet):
    def serving(self, region_id: int) -> DepartmentQuerySet:
        """The departments that take a region's cases: its own and the city's (``Department.serves``)."""
        return self.filter(models.Q(region_id=region_id) | models.Q(region__level=Region.Level.CITY))

    def visible_to(self, scope: Scope) -> DepartmentQuerySet:
        """A county office sees the departments serving its region; a department itself."""
        if scope.every_region:
            return self.select_related("region")
        if scope.region_id:
            return self.serving(scope.region_id).select_related("region")
        if scope.department_id:
            return self.filter(pk=scope.department_id).select_related("region")
        return self.none()


class Department(models.Model):
    """A responsible department (责任单位) of a county, or of the city."""

    name = models.CharField(_("name"), max_length=100)
    region = models.ForeignKey(Region, models.PROTECT, related_name="departments", verbose_name=_("region"))
    active = models.BooleanField(_("active"), default=True)

    objects = DepartmentQuerySet.as_manager()

    class Meta:
        ordering = ["region__code", "name"]
        constraints = [models.UniqueConstraint(fields=["region", "name"], name="department_unique_name_per_region")]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.name

    def serves(self, region: Region) -> bool:
        """A department takes cases of its own region; city departments take any region's."""
        return self.region_id == region.pk or self.region.is_city


DEADLINE_VALIDATORS = [
    MinValueValidator(1, message=_("A deadline is at least 1 working day.")),
    MaxValueValidator(250, message=_("A deadline is at most 250 working days.")),
]


class Category(models.Model):
    """A problem category (问题类别) with its deadline policy in working days.

    This is the deadline policy of SPEC §4, edited in the admin: a change applies to cases
    received or routed after it; due dates already set keep the policy they were computed with.
    """

    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=50, unique=True)
    deadline_days = models.PositiveSmallIntegerField(
        _("deadline (working days)"),
        default=5,
        validators=DEADLINE_VALIDATORS,
        help_text=_("Working days after the day of receipt (规定时限); 5 by default."),
    )
    complex_deadline_days = models.PositiveSmallIntegerField(
        _("deadline when complex (working days)"),
        default=15,
        validators=DEADLINE_VALIDATORS,
        help_text=_("Used when the case is marked complex at routing; 15 by default."),
    )
    position = models.PositiveSmallIntegerField(_("display order"), default=0)

    class Meta:
        ordering = ["position", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(deadline_days__gte=1), name="category_deadline_positive"),
            models.CheckConstraint(
                condition=Q(complex_deadline_days__gte=1), name="category_complex_deadline_positive"
            ),
        ]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        super().clean()
        if (
            self.deadline_days is not None
            and self.complex_deadline_days is not None
            and self.complex_deadline_days < self.deadline_days
        ):
            raise ValidationError(
                {"complex_deadline_days": _("The deadline for a complex case cannot be shorter than the ordinary one.")}
            )

    def deadline_for(self, *, complex: bool) -> int:
        return self.complex_deadline_days if complex else self.deadline_days


class Channel(models.Model):
    """The channel a problem came through (反映渠道)."""

    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=50, unique=True)
    position = models.PositiveSmallIntegerField(_("display order"), default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("channel")
        verbose_name_plural = _("channels")

    def __str__(self) -> str:
        return self.name


class Enterprise(models.Model):
    class Size(models.TextChoices):
        ABOVE_SCALE = "above_scale", _("Above designated size")  # 规模以上
        DOUBLE_HUNDRED = "double_100", _("Double hundred")  # 双百
        DOUBLE_THIRTY = "double_30", _("Double thirty")  # 双30
        SMALL_MICRO = "small_micro", _("Small and micro")  # 小微
        OTHER = "other", _("Other")  # 其他

    name = models.CharField(_("enterprise name"), max_length=200)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, validators=[validate_credit_code])
    size = models.CharField(_("size class"), max_length=20, choices=Size.choices, default=Size.OTHER)

    class Meta:
        ordering = ["name"]
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")
        # Unique as a constraint, not ``unique=True``: on PostgreSQL that also made a second index
        # for LIKE 'prefix%' (``varchar_pattern_ops``), which no query uses and every insert paid.
        constraints = [models.UniqueConstraint(fields=["credit_code"], name="cases_enterprise_credit_code_key")]

    def __str__(self) -> str:
        return self.name


_RECEIPT_ON_ROW = {"received_at": "department_rows__received_at", "-received_at": "-department_rows__received_at"}
# The list's order by receipt (CaseQuerySet.order_by) in a department's rows alone: the same order,
# for a row's case_id is its case's id.
_ORDER_OF_ROWS: dict[tuple, tuple[str, str]] = {
    ("-department_rows__received_at", "-id"): ("-received_at", "-case_id"),
    ("department_rows__received_at", "id"): ("received_at", "case_id"),
}


class CaseQuerySet(models.QuerySet):
    def for_user(self, user) -> CaseQuerySet:
        """What this user may see (``cases.scope.scope_of``). Everything starts from here."""
        return self.for_scope(scope_of(user))

    def for_scope(self, scope: Scope) -> CaseQuerySet:
        if scope.every_region:
            return self
        if scope.region_id:
            return self.filter(region_id=scope.region_id)
        if scope.department_id:
            # Cases that are or were routed to the department: those with its DepartmentCase row
            # (one per department any routing named, the current one included; written with each
            # routing). A join, not a semi-join: unique per department and case, it lists each
            # case once, and the row's copy of received_at can order the list (below), so that a
            # department's newest page is the first 50 entries of department_case_received_idx,
            # filtered or not, instead of a walk down every county's receipt index for the
            # department's 1 %.
            scoped = self.filter(department_rows__department_id=scope.department_id)
            scoped.query.department_rows = scope.department_id
            return scoped
        return self.none()

    def department_rows(self) -> models.QuerySet[DepartmentCase] | None:
        """The department's DepartmentCase rows that stand for exactly these cases, when its rows
        alone tell which: a department's scope with no other condition than bounds on the receipt
        (received from / to a day), the category and the state. A department has one row per case
        (unique per department and case; a row's case exists, its foreign key says so), and each
        row carries its case's receipt and category, neither of which changes after intake, and
        its state, which every transition writes to the case's rows as it saves the case; so the
        rows are read in their own indexes (department_case_received_idx,
        department_case_category_idx, department_case_state_idx) instead of probing each case.
        None otherwise."""
        department_id = getattr(self.query, "department_rows", None)
        where = self.query.where
        if not department_id or where.negated or where.connector != AND or self.query.combinator:
            return None
        if self.query.extra or self.query.extra_tables or self.query.distinct or self.query.is_sliced:
            return None
        if self.query.group_by is not None:  # grouped: rows of groups, not of cases
            return None
        joined = [
            join.table_name
            for alias, join in self.query.alias_map.items()
            if alias != self.query.base_table and self.query.alias_refcount[alias]  # (a trimmed join: unused)
        ]
        if joined != [DepartmentCase._meta.db_table]:  # another table joined (across a relation: cases repeated)
            return None
        rows = DepartmentCase.objects.using(self.db).filter(department_id=department_id)
        scoped = False
        for condition in where.children:
            if _is_department_scope(condition, department_id) and not scoped:
                scoped = True
                continue
            overdue = _overdue_rows(condition, self.query.base_table, department_id)
            if overdue is not None:
                rows = rows.exclude(case_id__in=overdue)
                continue
            copied = _copied_condition(condition, self.query.base_table)
            if copied is None:
                return None
            rows = rows.filter(**copied)
        return rows if scoped else None

    def count_up_to(self, limit: int) -> int | None:
        """How many cases, counting no further than ``limit``, when the department's rows alone
        tell it (``department_rows``: the 台帐 of a department unfiltered, only sorted or paged,
        received from / to a day, of a category, of a state, its follow-up queue); None otherwise
        (the caller counts the cases)."""
        rows = self.department_rows()
        return None if rows is None else rows.values("pk")[:limit].count()

    def ids_between(self, bottom: int, top: int) -> list[int] | None:
        """The ids of the cases from ``bottom`` to ``top`` in the list's order, when the
        department's rows alone tell them (``department_rows``) and the list is in order of
        receipt (its default, newest first, or oldest first): a range of the rows' index, read
        without the cases — a page far down, or past the end, skips index entries only. None
        otherwise (the caller reads the cases)."""
        order = _ORDER_OF_ROWS.get(tuple(self.query.order_by))
        if order is None or not self.query.standard_ordering or self.query.extra_order_by:
            return None
        rows = self.department_rows()
        if rows is None:
            return None
        return list(rows.order_by(*order).values_list("case_id", flat=True)[bottom:top])

    def open_rows_only(self) -> CaseQuerySet:
        """On a department's scope, the cases of its open DepartmentCase rows (no change to which
        cases match, for the caller filters to open states): a department's work queue reads those
        few rows (department_case_open_idx) instead of probing every case it ever had. Any other
        scope as it is. Once per query: the state filter, the overdue filter and a queue may each
        ask for it."""
        department_id = getattr(self.query, "department_rows", None)
        if not department_id or getattr(self.query, "open_rows", False):
            return self
        rows = DepartmentCase.objects.filter(department_id=department_id, open=True).values("case_id")
        narrowed = self.filter(pk__in=rows)
        narrowed.query.open_rows = True
        return narrowed

    def order_by(self, *field_names):
        """On a department's scope, the receipt is read from its DepartmentCase row (the same
        value: a case's receipt never changes after intake), the order its index keeps."""
        if getattr(self.query, "department_rows", False):
            field_names = tuple(_RECEIPT_ON_ROW.get(name, name) for name in field_names)
        return super().order_by(*field_names)

    def overdue(self, on: dt.date) -> CaseQuerySet:
        return self.open_rows_only().filter(state__in=OPEN_STATES, due_date__lt=on)

    def not_overdue(self, on: dt.date) -> CaseQuerySet:
        """Every case but the open ones past their due date. On a department's scope, its cases
        but those of its open rows past due (the same cases: a case of the scope has the
        department's row, open exactly when the case is), so that the count and a page's ids are
        read from its rows, and only its few hundred open cases from the cases
        (``department_rows``)."""
        department_id = getattr(self.query, "department_rows", None)
        if not department_id:
            return self.exclude(state__in=OPEN_STATES, due_date__lt=on)
        overdue = DepartmentCase.objects.filter(
            department_id=department_id, open=True, case__state__in=OPEN_STATES, case__due_date__lt=on
        ).values("case_id")
        overdue.query.overdue_rows = department_id
        return self.exclude(pk__in=overdue)

    def received_from(self, day: dt.date) -> CaseQuerySet:
        """Received on or after this local day (bounds, not ``__date``, so the index serves); a
        day too early to have a start in UTC bounds nothing."""
        if day <= dt.date.min + dt.timedelta(days=1):
            return self
        return self.filter(received_at__gte=local_midnight(day))

    def received_to(self, day: dt.date) -> CaseQuerySet:
        """Received on or before this local day; the last day there is bounds nothing."""
        if day >= dt.date.max - dt.timedelta(days=1):
            return self
        return self.filter(received_at__lt=local_midnight(day + dt.timedelta(days=1)))

    def with_pending_extension(self) -> CaseQuerySet:
        """Annotate ``has_pending_extension`` so lists can tell the available actions without a
        query per case (see ``cases.services.available_actions``)."""
        pending = ExtensionRequest.objects.filter(case=OuterRef("pk"), status=ExtensionRequest.Status.PENDING)
        return self.annotate(has_pending_extension=Exists(pending))


def _is_department_scope(condition, department_id: int) -> bool:
    """Whether a WHERE condition is ``for_scope``'s: the DepartmentCase row's department is this one."""
    return (
        isinstance(condition, Exact)
        and isinstance(condition.lhs, Col)
        and condition.lhs.target is DepartmentCase._meta.get_field("department")
        and condition.rhs == department_id
    )


def _overdue_rows(condition, case_alias: str | None, department_id: int) -> models.QuerySet | None:
    """The department's open rows past due that ``not_overdue`` excludes, when a WHERE condition is
    its exclusion (NOT the listed case IN those rows' cases); None for any other condition."""
    if not isinstance(condition, WhereNode) or not condition.negated or len(condition.children) != 1:
        return None
    (excluded,) = condition.children
    if not isinstance(excluded, In) or not isinstance(excluded.lhs, Col) or excluded.lhs.alias != case_alias:
        return None
    rhs = excluded.rhs
    if excluded.lhs.target is not Case._meta.pk or getattr(rhs, "overdue_rows", None) != department_id:
        return None
    overdue = DepartmentCase.objects.all()
    overdue.query = rhs.clone()
    return overdue


def _copied_condition(condition, case_alias: str | None) -> dict | None:
    """The DepartmentCase filter equal to a WHERE condition on what its rows copy from the listed
    case (the query's own table, not a case reached through a join): a bound on the receipt
    (``received_from`` / ``received_to``), the category or the state (the 台帐's and the API's
    category and state filters), one of several states or the satisfaction (the follow-up queue:
    closed, not yet followed up). None for any other condition."""
    lhs = getattr(condition, "lhs", None)
    if not isinstance(lhs, Col) or lhs.alias != case_alias:
        return None
    target = lhs.target
    if (
        isinstance(condition, GreaterThanOrEqual | LessThan | GreaterThan | LessThanOrEqual)
        and target is Case._meta.get_field("received_at")
        and isinstance(condition.rhs, dt.datetime)
    ):
        return {f"received_at__{condition.lookup_name}": condition.rhs}
    if isinstance(condition, Exact) and target is Case._meta.get_field("category") and isinstance(condition.rhs, int):
        return {"category_id": condition.rhs}
    if isinstance(condition, Exact) and target is Case._meta.get_field("state") and isinstance(condition.rhs, str):
        return {"state": condition.rhs}
    if isinstance(condition, In) and target is Case._meta.get_field("state") and _strings(condition.rhs):
        return {"state__in": list(condition.rhs)}
    if (
        isinstance(condition, Exact)
        and target is Case._meta.get_field("satisfaction")
        and isinstance(condition.rhs, str)
    ):
        return {"satisfaction": condition.rhs}
    return None


def _strings(values) -> bool:
    """A list of strings given as such (not a subquery, not an expression)."""
    return isinstance(values, list | tuple | set | frozenset) and all(isinstance(v, str) for v in values)


@overload
def local_date(moment: dt.datetime) -> dt.date: ...
@overload
def local_date(moment: None) -> None: ...
@overload
def local_date(moment: dt.datetime | None) -> dt.date | None: ...
def local_date(moment: dt.datetime | None) -> dt.date | None:
    """The Asia/Shanghai calendar date of an aware datetime: the date the law counts."""
    if moment is None:
        return None
    return timezone.localtime(moment).date()


@functools.cache
def _fsm_state_fields(model) -> tuple:
    return tuple(field for field in model._meta.fields if isinstance(field, FSMFieldMixin))


def local_midnight(day: dt.date) -> dt.datetime:
    """The moment an Asia/Shanghai calendar day begins (the inverse of ``local_date``)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_default_timezone())


class Case(ConcurrentTransitionMixin, FSMModelMixin, models.Model):
    """An enterprise problem (企业问题)."""

    class Satisfaction(models.TextChoices):
        SATISFIED = "satisfied", _("Satisfied")  # 满意
        BASICALLY_SATISFIED = "basically_satisfied", _("Basically satisfied")  # 基本满意
        DISSATISFIED = "dissatisfied", _("Dissatisfied")  # 不满意

    # No index of its own: a dozen of the indexes below begin with it (a bulk import's every case
    # paid for one more index that no plan needs).
    region = models.ForeignKey(Region, models.PROTECT, related_name="cases", verbose_name=_("region"), db_index=False)
    year = models.PositiveSmallIntegerField(_("year"))
    serial = models.PositiveIntegerField(_("serial"))
    # Unique by a constraint in Meta, not ``unique=True``: no LIKE index (numbers are looked up whole).
    number = models.CharField(_("number"), max_length=40)
    ref = models.CharField(_("external reference"), max_length=64, null=True, blank=True)

    enterprise = models.ForeignKey(Enterprise, models.PROTECT, related_name="cases", verbose_name=_("enterprise"))
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)
    # No index of its own: case_category_region_idx below leads with it.
    category = models.ForeignKey(Category, models.PROTECT, verbose_name=_("category"), db_index=False)
    channel = models.ForeignKey(Channel, models.PROTECT, verbose_name=_("channel"))
    description = models.TextField(_("problem description"))
    received_at = models.DateTimeField(_("received at"))

    state = FSMField(_("state"), max_length=20, choices=State.choices, default=State.RECEIVED, protected=True)
    # Indexed by the (department, state) and (department, received_at, id) indexes below.
    department = models.ForeignKey(
        Department,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("department"),
        db_index=False,
    )
    complex = models.BooleanField(_("complex"), default=False)
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    # When the case was first routed (its first ``assign`` entry): kept by the ``assign``
    # transition in the routing's transaction, never cleared (a return and a new routing keep it).
    # The notice's "assigned in the period" counts it through an index instead of the ledger.
    first_assigned_at = models.DateTimeField(_("first assigned at"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)

    due_date = models.DateField(_("due date"), null=True, blank=True)
    due_date_provisional = models.BooleanField(_("due date provisional"), default=False)
    calendar_version = models.CharField(_("calendar version"), max_length=64, blank=True)
    extension_days = models.PositiveSmallIntegerField(_("extension (working days)"), default=0)
    supervised = models.BooleanField(_("supervised"), default=False)

    result = models.TextField(_("result"), blank=True)
    policy_basis = models.TextField(_("policy basis"), blank=True)
    redirect_to = models.TextField(_("where the enterprise can turn"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    satisfaction = models.CharField(_("satisfaction"), max_length=20, choices=Satisfaction.choices, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("enterprise problem")
        verbose_name_plural = _("enterprise problems")
        constraints = [
            models.UniqueConstraint(fields=["number"], name="cases_case_number_key"),
            models.UniqueConstraint(fields=["region", "year", "serial"], name="case_unique_serial_per_region_year"),
            models.UniqueConstraint(
                fields=["region", "ref"], condition=Q(ref__isnull=False), name="case_unique_ref_per_region"
            ),
            models.CheckConstraint(
                condition=~Q(state__in=CLOSED_STATES) | Q(closed_at__isnull=False), name="case_closed_has_closed_at"
            ),
        ]
        indexes = [
            # A category's cases of a region by receipt, with their department: the routing
            # suggestions' share of each department in a category over two years
            # (cases.routing_suggestions._routed_counts) counted from this index alone — 30–50 ms
            # on a case page at a million cases from the cases themselves, once per region and
            # category a day. It replaces the category's own index (the foreign key's lookups).
            models.Index(
                fields=["category", "region", "received_at"], name="case_category_region_idx", include=["department"]
            ),
            # The deadline sweep and "overdue" filters read open cases by due date only.
            models.Index(
                fields=["due_date"], name="case_open_due_idx", condition=Q(state__in=["received", "assigned"])
            ),
            # Region and receipt time select a year's cases (台帐 lists, scoring); the number makes
            # it cover scoring's scan, which then never reads the case rows themselves (SQLite).
            models.Index(fields=["region", "received_at", "number"], name="case_region_received_no_idx"),
            models.Index(fields=["department", "state"], name="case_department_state_idx"),
            # The 台帐 sorted by due date (办理时限), every county's and one county's: the first page
            # is the first 50 entries instead of a sort of every case (1 s at a million).
            # With the id: a department's page sorted so reads the ids from this index alone,
            # probing its rows (cases.paginators: ids first), 80 → 18 ms at a million cases.
            models.Index(fields=["due_date", "id"], name="case_due_id_idx"),
            models.Index(fields=["region", "due_date"], name="case_region_due_idx"),
            # The 台帐 and the API list show the newest receipt first (or, sorted, the oldest): a
            # page of every county is the first 50 entries of this index, and a receipt-date
            # filter a range of it; with the id it also orders ties, as ``ordering`` does.
            models.Index(fields=["received_at", "id"], name="case_received_idx"),
            # One state, newest first (the state filter; the to-route and returned queues, oldest
            # first): the page and its capped count read this index, not the whole table.
            models.Index(fields=["state", "received_at", "id"], name="case_state_received_idx"),
            # A county's cases in one state by receipt: its state filter, its to-route and
            # returned queues, and their capped counts (index-only) without reading the county.
            models.Index(fields=["region", "state", "received_at", "id"], name="case_region_state_received_idx"),
            # One department's cases by receipt (the department filter, a department's list).
            models.Index(fields=["department", "received_at", "id"], name="case_department_received_idx"),
            # The notice's figures for a county-month (notices.drafting): first routings and
            # closings in the period, counted or read through the index.
            models.Index(fields=["region", "first_assigned_at"], name="case_region_first_assigned_idx"),
            models.Index(fields=["region", "closed_at"], name="case_region_closed_idx"),
            # A reopened case may have closings in a period other than its latest (or none now).
            models.Index(fields=["region"], name="case_region_reopened_idx", condition=Q(reopen_count__gt=0)),
            # The acknowledgement reminder reads assigned, unacknowledged cases by assignment time.
            models.Index(
                fields=["assigned_at"],
                name="case_unacknowledged_idx",
                condition=Q(state="assigned", acknowledged_at__isnull=True),
            ),
            # The dashboard's work queues (cases.queues), each read oldest first and counted up to
            # a cap: per region (a county office, the city's table) and across all (the city).
            # To be routed and returned (received, never routed / routed before: ``first_assigned_at``):
            # a county's oldest first, and every queue's capped count, read from these alone.
            models.Index(
                fields=["region", "received_at", "id"],
                name="case_to_route_idx",
                condition=Q(state="received", first_assigned_at__isnull=True),
            ),
            models.Index(
                fields=["region", "received_at", "id"],
                name="case_returned_idx",
                condition=Q(state="received", first_assigned_at__isnull=False),
            ),
            # A department's own open cases by due date (its dashboard's overdue and in-hand
            # lists): without it the first rows were a walk of every county's due dates.
            models.Index(
                fields=["department", "due_date", "id"],
                name="case_open_department_due_idx",
                condition=Q(state__in=["received", "assigned"]),
            ),
            models.Index(
                fields=["region", "due_date", "id"],
                name="case_open_region_due_idx",
                include=["supervised"],  # 逾期/督办 is "past due or supervised": read from the index alone
                condition=Q(state__in=["received", "assigned"]),
            ),
            models.Index(
                fields=["region", "assigned_at", "id"],
                name="case_unack_region_idx",
                condition=Q(state="assigned", acknowledged_at__isnull=True),
            ),
            models.Index(
                fields=["region", "closed_at", "id"],
                name="case_follow_up_region_idx",
                condition=Q(state__in=["resolved", "explained"], satisfaction=""),
            ),
            # The city office's "holiday schedule awaited" banner counts open cases whose due date
            # was counted provisionally (cases.workcalendar.provisional_open_cases): few, by design.
            models.Index(
                fields=["calendar_version"],
                name="case_provisional_due_idx",
                condition=Q(state__in=["received", "assigned"], due_date_provisional=True),
            ),
            # The in-hand queue (acknowledged, not yet closed): a county's by due date, and its
            # count index-only for a county or the city (the city's page walks case_open_due_idx).
            models.Index(
                fields=["region", "due_date", "id"],
                name="case_in_hand_idx",
                condition=Q(state="assigned", acknowledged_at__isnull=False),
            ),
            # The follow-up queue (closed, satisfaction not yet asked) oldest closing first; with
            # the region, a county's count reads the index only.
            models.Index(
                fields=["closed_at", "id", "region"],
                name="case_follow_up_idx",
                condition=Q(state__in=["resolved", "explained"], satisfaction=""),
            ),
        ]

    def __str__(self) -> str:
        return self.number

    # -- rules that read one case -------------------------------------------------------------
    @property
    def state_fields(self) -> tuple:
        """django-fsm's state fields (for its check that a save finds the state it loaded): looked
        up once per class, not by filtering every field of the model for each case made (100 on an
        API page)."""
        return _fsm_state_fields(type(self))

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def received_on(self) -> dt.date:
        return local_date(self.received_at)

    @property
    def closed_on(self) -> dt.date | None:
        return local_date(self.closed_at)

    def is_overdue(self, on: dt.date) -> bool:
        return self.is_open and self.due_date is not None and on > self.due_date

    def days_overdue(self, on: dt.date) -> int:
        return (on - self.due_date).days if self.is_overdue(on) else 0

    @property
    def on_time(self) -> bool | None:
        """Closed on or before the due date; None while open or without a due date."""
        if self.is_open or self.due_date is None or self.closed_at is None:
            return None
        return self.closed_on <= self.due_date

    # -- transitions (called only by cases.services) ------------------------------------------
    # Their source and target states, permission and conditions are declared in cases.actions.
    @transition(field=state, **fsm("assign"))
    def assign(self, *, department: Department, at: dt.datetime) -> None:
        self.department = department
        self.assigned_at = at
        if self.first_assigned_at is None:
            self.first_assigned_at = at
        self.acknowledged_at = None

    @transition(field=state, **fsm("reassign"))
    def reassign(self, *, department: Department, at: dt.datetime) -> None:
        self.department = department
        self.assigned_at = at
        self.acknowledged_at = None

    @transition(field=state, **fsm("acknowledge"))
    def acknowledge(self, *, at: dt.datetime) -> None:
        self.acknowledged_at = at

    @transition(field=state, **fsm("return"))
    def return_to_office(self) -> None:
        self.department = None
        self.assigned_at = None
        self.acknowledged_at = None

    @transition(field=state, **fsm("resolve"))
    def resolve(self, *, result: str, at: dt.datetime) -> None:
        self.result = result
        self.policy_basis = ""
        self.redirect_to = ""
        self.closed_at = at

    @transition(field=state, **fsm("explain"))
    def explain(self, *, result: str, policy_basis: str, redirect_to: str, at: dt.datetime) -> None:
        self.result = result
        self.policy_basis = policy_basis
        self.redirect_to = redirect_to
        self.closed_at = at

    @transition(field=state, **fsm("reopen"))
    def reopen(self) -> None:
        # Back to the department that closed it; the closing is kept in the ledger only.
        self.closed_at = None
        self.satisfaction = ""
        self.reopen_count += 1
        self.acknowledged_at = None


class CaseNumberCounter(models.Model):
    """The last serial handed out in a region and year: numbers are never reused.

    ``cases.services.create_case`` takes the next serial from here under the region's row lock,
    in the transaction that creates the case, so a number once given stays given even if its case
    later disappears (deleted behind the ledger's back); ``verify_ledger`` then reports it missing.
    """

    region = models.ForeignKey(Region, models.PROTECT, related_name="+", verbose_name=_("region"))
    year = models.PositiveSmallIntegerField(_("year"))
    last_serial = models.PositiveIntegerField(_("last serial issued"), default=0)

    class Meta:
        verbose_name = _("case number counter")
        verbose_name_plural = _("case number counters")
        constraints = [models.UniqueConstraint(fields=["region", "year"], name="case_counter_unique_region_year")]

    def __str__(self) -> str:
        return f"{self.region_id}/{self.year}: {self.last_serial}"


class CaseAssignment(models.Model):
    """Each routing of a case to a department; lets a department keep seeing cases it once had."""

    case = models.ForeignKey(Case, models.CASCADE, related_name="assignments")
    # Indexed by (department, case) below.
    department = models.ForeignKey(Department, models.PROTECT, related_name="assignments", db_index=False)
    assigned_at = models.DateTimeField()

    class Meta:
        ordering = ["assigned_at", "id"]
        indexes = [models.Index(fields=["department", "case"], name="assignment_department_case_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.department_id}"

    @classmethod
    def record(cls, case: Case, department_id: int, at: dt.datetime) -> CaseAssignment:
        """Write a routing and, if this is the case's first to the department, the department's
        DepartmentCase row: in the caller's transaction (the routing's), so the department sees
        the case exactly when a routing names it."""
        DepartmentCase.objects.bulk_create(
            [
                DepartmentCase(
                    department_id=department_id,
                    case_id=case.pk,
                    received_at=case.received_at,
                    category_id=case.category_id,
                    state=case.state,
                    open=case.state in OPEN_STATES,
                    satisfaction=case.satisfaction,
                )
            ],
            ignore_conflicts=True,
        )
        return cls.objects.create(case=case, department_id=department_id, assigned_at=at)


class DepartmentCase(models.Model):
    """A case a department sees: one row for each department any routing of the case named.

    The department's scope (``CaseQuerySet.for_scope``) as a table of its own, kept with the
    routings (``CaseAssignment.record``, the bulk import, generate_load): unique per department
    and case, so that the scope is a join listing each case once, and it carries the case's
    ``received_at`` (set at intake, never changed) by which a department's list is ordered
    (``CaseQuerySet.order_by``): newest or oldest first, one range of
    ``department_case_received_idx``; and the case's ``category`` (also set at intake, never
    changed), so that a department's list of one category is a range of
    ``department_case_category_idx`` (``CaseQuerySet.department_rows``); and the case's ``state``
    (kept by every transition), so that its list of one state is a range of
    ``department_case_state_idx``.
    """

    # No index of the department's own: the unique constraint's (department, case) leads with it.
    department = models.ForeignKey(Department, models.PROTECT, related_name="+", db_index=False)
    case = models.ForeignKey(Case, models.CASCADE, related_name="+", related_query_name="department_rows")
    received_at = models.DateTimeField()  # the case's, copied
    # The case's category, copied (set at intake, never changed: no service writes it): the 台帐's
    # category filter counts and pages a department's cases in department_case_category_idx.
    category = models.ForeignKey(Category, models.PROTECT, related_name="+", db_index=False)
    # The case's state, copied: kept by every transition (services._steps.Act.transition: a
    # case's state is a django-fsm field no other code writes) and written with the row by
    # CaseAssignment.record, the bulk import and generate_load. The 台帐's state filter counts
    # and pages a department's cases in department_case_state_idx.
    state = models.CharField(max_length=20, choices=State.choices)
    # The case is open (received or assigned): kept by the transitions that close and reopen it
    # (services._steps.Act.transition) and written with the row by the bulk import and
    # generate_load. A department's work queues (all of open cases) read its open rows through
    # department_case_open_idx — a few hundred rows — instead of every case it ever had.
    open = models.BooleanField(default=True)
    # The case's satisfaction (回访), copied: written by the follow-up (services._steps.Act.save)
    # and by the transitions (a reopening clears it), and with the row by CaseAssignment.record,
    # the bulk import and generate_load (both write none). The follow-up queue (closed, not yet
    # followed up) of a department is then counted in its rows, department_case_follow_up_idx,
    # instead of probing each of the thousands of cases it closed.
    satisfaction = models.CharField(max_length=20, choices=Case.Satisfaction.choices, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["department", "case"], name="department_case_unique")]
        indexes = [
            models.Index(fields=["department", "received_at", "case"], name="department_case_received_idx"),
            models.Index(fields=["department", "category", "received_at", "case"], name="department_case_category_idx"),
            models.Index(fields=["department", "state", "received_at", "case"], name="department_case_state_idx"),
            models.Index(fields=["department", "case"], name="department_case_open_idx", condition=Q(open=True)),
            models.Index(
                fields=["department", "case"],
                name="department_case_follow_up_idx",
                condition=Q(state__in=["resolved", "explained"], satisfaction=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.department_id}"


def evidence_upload_to(instance: Evidence, filename: str) -> str:
    # The stored name is generated: the user's file name is kept only as data, never as a path.
    suffix = Path(instance.original_name or filename).suffix.lower()[:10]
    return f"evidence/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class Evidence(models.Model):
    """An evidence item (佐证材料): an uploaded file or, for imported history, a reference."""

    case = models.ForeignKey(Case, models.PROTECT, related_name="evidence", verbose_name=_("case"))
    file = models.FileField(_("file"), upload_to=evidence_upload_to, blank=True)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    sha256 = models.CharField(_("SHA-256 digest"), max_length=64, blank=True)
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("uploaded by")
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")

    def __str__(self) -> str:
        return self.original_name


class FollowUp(models.Model):
    """The enterprise's response after closing (回访)."""

    case = models.ForeignKey(Case, models.PROTECT, related_name="follow_ups", verbose_name=_("case"))
    satisfaction = models.CharField(_("satisfaction"), max_length=20, choices=Case.Satisfaction.choices)
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        ordering = ["recorded_at", "id"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")

    def __str__(self) -> str:
        return f"{self.case_id} {self.satisfaction}"


class Profile(models.Model):
    """Ties a user to a role and to the region or department they act for."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="profile", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=20)
    region = models.ForeignKey(
        Region, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("region")
    )
    department = models.ForeignKey(
        Department, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("department")
    )

    class Meta:
        verbose_name = _("user role")
        verbose_name_plural = _("user roles")

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


# -- the working-day calendar (规定时限 are counted on it) ------------------------------------


class CalendarYear(models.Model):
    """One year of the official PRC working-day calendar, with a version bumped on each change.

    Every date of the year has a ``CalendarDay`` row. A due date records the versions of the
    years it was counted on (``Case.calendar_version``), e.g. ``2025.1+2026.1``.
    """

    year = models.PositiveSmallIntegerField(
        _("year"), unique=True, validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    source = models.CharField(_("source"), max_length=100)
    reference = models.CharField(
        _("official notice"),
        max_length=200,
        blank=True,
        help_text=_("The State Council notice the schedule comes from, e.g. 国办发明电〔2024〕12号."),
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        ordering = ["-year"]
        verbose_name = _("working-day calendar year")
        verbose_name_plural = _("working-day calendar")
        constraints = [models.CheckConstraint(condition=Q(version__gte=1), name="calendar_year_version_positive")]

    def __str__(self) -> str:
        return f"{self.year}"

    @property
    def version_label(self) -> str:
        return f"{self.year}.{self.version}"


class CalendarDay(models.Model):
    """Whether one date is a working day: weekends are off and weekdays on, except statutory
    holidays (off) and make-up working days (调休, on)."""

    class Kind(models.TextChoices):
        WORKDAY = "workday", _("Working day")
        WEEKEND = "weekend", _("Weekend")
        HOLIDAY = "holiday", _("Statutory holiday")
        MAKEUP = "makeup", _("Make-up working day")

    date = models.DateField(_("date"), unique=True)
    calendar = models.ForeignKey(CalendarYear, models.CASCADE, related_name="days", verbose_name=_("year"))
    is_workday = models.BooleanField(_("working day"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("holiday name"), max_length=50, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        constraints = [
            models.CheckConstraint(
                condition=(Q(is_workday=True) & Q(kind__in=["workday", "makeup"]))
                | (Q(is_workday=False) & Q(kind__in=["weekend", "holiday"])),
                name="calendar_day_kind_matches_workday",
            )
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.get_kind_display()}"


# -- extensions (延期) -------------------------------------------------------------------------


class ExtensionRequest(models.Model):
    """A department's request for more working days, and the office's decision on it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    case = models.ForeignKey(Case, models.PROTECT, related_name="extension_requests", verbose_name=_("case"))
    days = models.PositiveSmallIntegerField(_("working days asked"))
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(_("requested at"))
    due_date_before = models.DateField(_("due date before"))
    due_date_after = models.DateField(_("due date after"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("decided by")
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        constraints = [
            # At most one request waits for a decision per case; the service also checks it.
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="pending"), name="extension_one_pending_per_case"
            ),
            models.CheckConstraint(condition=Q(days__gte=1), name="extension_days_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.case} +{self.days}"


# -- retries without duplicates ------------------------------------------------------------------


class IdempotencyKey(models.Model):
    """A client's key for one case creation: the API's ``Idempotency-Key`` header, or the intake
    form's one-time token. Written in the transaction that creates the case, so a retry after a
    lost answer (the case committed, the connection dropped) finds the case instead of logging it
    twice; the unique key lets only one of two concurrent requests create it. Kept for
    ``IDEMPOTENCY_KEY_TTL_HOURS`` and then removed by the daily housekeeping."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+", verbose_name=_("user"))
    key = models.CharField(_("key"), max_length=255)
    request_hash = models.CharField(_("request hash"), max_length=64)
    case = models.ForeignKey(Case, models.CASCADE, related_name="+", verbose_name=_("case"))
    created_at = models.DateTimeField(_("created at"), db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique_key_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key} → {self.case_id}"


class ImportJob(models.Model):
    """A ledger import started from the upload page (cases/import_jobs.py, run by cases/tasks.py).

    The uploaded file waits in MEDIA_ROOT/imports/<stored_name>. A worker running the job writes
    ``heartbeat_at`` every few seconds; a running job whose heartbeat has stopped lost its worker
    and is shown as interrupted, with a retry that queues the same file again as a new attempt.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    id = models.CharField(primary_key=True, max_length=32, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    file_name = models.CharField(max_length=200)
    stored_name = models.CharField(max_length=64)
    dry_run = models.BooleanField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(max_length=20, blank=True)
    processed = models.PositiveIntegerField(default=0)
    percent = models.PositiveSmallIntegerField(default=0)
    summary = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Failed because its worker stopped (not because of the file): the same file may be retried.
    interrupted = models.BooleanField(default=False)
    attempt = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"
