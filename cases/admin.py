"""The Django admin, scoped exactly like the UI.

Every queryset with a case or region behind it (ledger entries included) starts from ``Case.objects.for_user`` (or the
scoped region/department fetchers). Cases are read-only here: their state and history change only
through ``cases.services``. Reference data (regions, departments, categories, channels) is edited
by the city office; other staff may look at what lies in their scope.

Permissions follow the user's role (cases.roles), not Django's per-model permissions, because
every account is staff and roles are what the offices assign.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ledger.models import LedgerEntry

from .access import departments_for_user, regions_for_user
from .models import (
    Case,
    CaseAssignment,
    Category,
    Channel,
    Department,
    Enterprise,
    Evidence,
    FollowUp,
    Profile,
    Region,
)
from .roles import Role, role_of


def _site_header() -> str:
    """信阳市企业问题台帐管理: the city the database holds, read when the admin renders."""
    city = Region.objects.filter(level=Region.Level.CITY).values_list("name", flat=True).first()
    return gettext("%(city)s enterprise problem ledger administration") % {"city": city or ""}


admin.site.site_header = lazy(_site_header, str)()
admin.site.site_title = _("Enterprise problem ledger administration")
admin.site.index_title = _("Data and settings")


def is_city_office(user) -> bool:
    return user.is_active and user.is_staff and role_of(user) == Role.CITY_OFFICE


def has_role(user) -> bool:
    return user.is_active and user.is_staff and role_of(user) is not None


class NoWritesAdmin(admin.ModelAdmin):
    """Shown, never changed through the admin: changes go through the services. Subclasses say
    who may view."""

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RoleReadOnlyAdmin(NoWritesAdmin):
    """Visible to every staff user with a role, within scope; never changed through the admin."""

    def has_view_permission(self, request, obj=None):
        return has_role(request.user)


class CityEditableAdmin(RoleReadOnlyAdmin):
    """Reference data: edited by the city office (and superusers), read by everyone else."""

    def has_add_permission(self, request):
        return is_city_office(request.user)

    def has_change_permission(self, request, obj=None):
        return is_city_office(request.user)

    def has_delete_permission(self, request, obj=None):
        # Rows in use are protected by the database (on_delete=PROTECT) anyway.
        return is_city_office(request.user)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return has_role(request.user)


@admin.register(Region)
class RegionAdmin(CityEditableAdmin):
    list_display = ("code", "name", "level")
    list_filter = ("level",)
    search_fields = ("code", "name")

    def get_queryset(self, request):
        return regions_for_user(request.user)


@admin.register(Department)
class DepartmentAdmin(CityEditableAdmin):
    list_display = ("name", "region", "active")
    list_filter = ("active", "region")
    search_fields = ("name",)
    list_select_related = ("region",)

    def get_queryset(self, request):
        return departments_for_user(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "region":
            kwargs["queryset"] = regions_for_user(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Category)
class CategoryAdmin(CityEditableAdmin):
    list_display = ("code", "name", "deadline_days", "complex_deadline_days", "position")
    list_editable = ()
    ordering = ("position", "code")


@admin.register(Channel)
class ChannelAdmin(CityEditableAdmin):
    list_display = ("code", "name", "position")
    ordering = ("position", "code")


@admin.register(Enterprise)
class EnterpriseAdmin(RoleReadOnlyAdmin):
    list_display = ("name", "credit_code", "size")
    list_filter = ("size",)
    search_fields = ("name", "credit_code")

    def get_queryset(self, request):
        # An enterprise is visible through the cases the user may see.
        visible = Case.objects.for_user(request.user).filter(enterprise=OuterRef("pk"))
        return super().get_queryset(request).filter(Exists(visible))


class EvidenceInline(ReadOnlyInline):
    model = Evidence
    fields = ("original_name", "reference", "content_type", "size", "uploaded_by", "uploaded_at")
    readonly_fields = fields


class AssignmentInline(ReadOnlyInline):
    model = CaseAssignment
    fields = ("department", "assigned_at")
    readonly_fields = fields
    verbose_name = _("routing")
    verbose_name_plural = _("routings")


class FollowUpInline(ReadOnlyInline):
    model = FollowUp
    fields = ("satisfaction", "note", "recorded_by", "recorded_at")
    readonly_fields = fields


@admin.register(Case)
class CaseAdmin(RoleReadOnlyAdmin):
    """Read-only: a case changes only through the services (the web pages and the API)."""

    list_display = ("number", "enterprise", "category", "region", "department", "state", "due_date", "closed_at")
    list_filter = ("state", "category", "supervised", "region")
    search_fields = ("number", "enterprise__name", "enterprise__credit_code", "ref")
    list_select_related = ("enterprise", "category", "region", "department")
    date_hierarchy = "received_at"
    inlines = [AssignmentInline, EvidenceInline, FollowUpInline]
    readonly_fields = [field.name for field in Case._meta.fields]
    fields = readonly_fields
    show_full_result_count = False

    def get_queryset(self, request):
        return Case.objects.for_user(request.user)

    def get_list_filter(self, request):
        filters = list(self.list_filter)
        if regions_for_user(request.user).count() <= 1:
            filters.remove("region")
        return filters


@admin.register(Evidence)
class EvidenceAdmin(RoleReadOnlyAdmin):
    list_display = ("original_name", "case", "content_type", "size", "uploaded_at")
    search_fields = ("original_name", "reference", "case__number")
    list_select_related = ("case",)
    readonly_fields = (
        "case",
        "original_name",
        "file",
        "reference",
        "content_type",
        "size",
        "sha256",
        "uploaded_by",
        "uploaded_at",
    )
    fields = readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).filter(case__in=Case.objects.for_user(request.user))


@admin.register(FollowUp)
class FollowUpAdmin(RoleReadOnlyAdmin):
    list_display = ("case", "satisfaction", "recorded_by", "recorded_at")
    list_filter = ("satisfaction",)
    list_select_related = ("case", "recorded_by")
    readonly_fields = ("case", "satisfaction", "note", "recorded_by", "recorded_at")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(case__in=Case.objects.for_user(request.user))


@admin.register(LedgerEntry)
class LedgerEntryAdmin(RoleReadOnlyAdmin):
    """The ledger: read-only for everyone, superusers included, and scoped like the UI. Registered
    here, where cases and their scope are known (the ledger below knows neither). The database
    refuses UPDATE and DELETE on ledger rows anyway; the admin does not even offer them."""

    list_display = (
        "case",
        "seq",
        "action",
        "from_state",
        "to_state",
        "actor_name",
        "occurred_at",
        "source",
        "short_hash",
    )
    list_filter = ("action", "source")
    search_fields = ("case__number", "actor_name")
    list_select_related = ("case",)
    ordering = ("-occurred_at", "-id")
    readonly_fields = (
        "case",
        "seq",
        "action",
        "from_state",
        "to_state",
        "actor",
        "actor_name",
        "occurred_at",
        "recorded_at",
        "source",
        "due_date",
        "payload",
        "prev_hash",
        "hash",
    )
    fields = readonly_fields
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).filter(case__in=Case.objects.for_user(request.user))

    @admin.display(description="hash")
    def short_hash(self, entry):
        return entry.hash[:12]


class ProfileForm(forms.ModelForm):
    role = forms.ChoiceField(label=_("role"), choices=Role.choices)

    class Meta:
        model = Profile
        fields = ("user", "role", "region", "department")


@admin.register(Profile)
class ProfileAdmin(CityEditableAdmin):
    """Who acts for which region or department; maintained by the city office."""

    form = ProfileForm

    list_display = ("user", "role", "region", "department")
    list_filter = ("role",)
    search_fields = ("user__username",)
    list_select_related = ("user", "region", "department")

    def has_module_permission(self, request):
        return is_city_office(request.user)

    def has_view_permission(self, request, obj=None):
        return is_city_office(request.user)


# The working-day calendar and extension requests have their own module, which builds on the
# classes above; importing it here registers them when the admin autodiscovers cases.admin.
from . import admin_calendar  # noqa: E402, F401
