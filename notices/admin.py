"""The notices in the admin, scoped like the pages; issued notices are read-only."""
from __future__ import annotations

from django.contrib import admin, messages

from cases.errors import CaseError

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
        return True

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
                by=request.user, region=form.instance.region, frequency=form.instance.frequency,
                start_date=form.instance.start_date, recipients=rows,
            )
        except CaseError as error:
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
