"""The notices in the admin, scoped like the pages; issued notices are read-only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction

from cases.errors import CaseError
from cases.models import Region
from cases.roles import is_office

from . import services
from .access import can_manage
from .models import Notice, NoticeDelivery, NoticeSchedule, Recipient


class RecipientInline(admin.TabularInline):
    model = Recipient
    extra = 0
    min_num = 3


@admin.register(NoticeSchedule)
class NoticeScheduleAdmin(admin.ModelAdmin):
    list_display = ["region", "frequency", "start_date", "updated_at"]
    inlines = [RecipientInline]
    readonly_fields = ["created_at", "updated_at", "updated_by"]

    def get_queryset(self, request):
        return super().get_queryset(request).for_user(request.user).select_related("region")

    def has_change_permission(self, request, obj=None):
        return obj is None or can_manage(request.user, obj.region)

    def has_add_permission(self, request):
        # Only an office sets up a schedule, and only for a region it manages (the region list
        # below, and save_model): a department or another county never writes one.
        return is_office(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "region":
            kwargs["queryset"] = Region.objects.filter(
                pk__in=[r.pk for r in Region.objects.all() if can_manage(request.user, r)]
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        # The row is written by the service in save_related (with its recipients); here only the
        # scope is checked, so nothing is saved for a region this user may not manage.
        if not can_manage(request.user, obj.region):
            raise PermissionDenied
        if not change:
            obj.save()  # the admin needs the row's id for its inlines; the service then rewrites it

    def has_delete_permission(self, request, obj=None):
        return obj is not None and can_manage(request.user, obj.region)

    def save_related(self, request, form, formsets, change):
        # Go through the service so the three-groups rule holds in the admin too.
        rows = []
        for formset in formsets:
            for f in formset.forms:
                data = getattr(f, "cleaned_data", {})
                if data and not data.get("DELETE") and data.get("group"):
                    rows.append({"group": data["group"], "name": data.get("name", ""), "email": data.get("email", "")})
        try:
            services.save_schedule(
                by=request.user,
                region=form.instance.region,
                frequency=form.instance.frequency,
                start_date=form.instance.start_date,
                recipients=rows,
                office_name=form.instance.office_name,
                number_prefix=form.instance.number_prefix,
            )
        except CaseError as error:
            # The admin's view runs in one transaction: nothing of this save is kept.
            transaction.set_rollback(True)
            messages.error(request, error.message)


class NoticeDeliveryInline(admin.TabularInline):
    model = NoticeDelivery
    extra = 0
    can_delete = False
    readonly_fields = ["group", "name", "email", "state", "attempts", "sent_at", "error"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ["region", "period", "status", "offline", "issued_on"]
    list_filter = ["status", "offline", "frequency"]
    search_fields = ["region__code", "region__name", "period", "title"]
    inlines = [NoticeDeliveryInline]

    def get_queryset(self, request):
        return super().get_queryset(request).for_user(request.user).select_related("region")

    def get_readonly_fields(self, request, obj=None):
        fields = [f.name for f in Notice._meta.fields]
        if obj is not None and obj.is_draft and can_manage(request.user, obj.region):
            return [f for f in fields if f not in ("title", "covering_text")]
        return fields

    def has_add_permission(self, request):
        # Drafting and offline registration need the ledger and a scan: use the notice pages.
        return False

    def has_delete_permission(self, request, obj=None):
        return obj is not None and obj.is_draft and can_manage(request.user, obj.region)

    def save_model(self, request, obj, form, change):
        try:
            services.update_draft(by=request.user, notice=obj, title=obj.title, covering_text=obj.covering_text)
        except CaseError as error:
            messages.error(request, error.message)
