"""The ledger in the admin: read-only for everyone, superusers included, and scoped like the UI.

The database refuses UPDATE and DELETE on ledger rows anyway; the admin does not even offer them.
"""
from __future__ import annotations

from django.contrib import admin

from cases.admin import has_role
from cases.models import Case

from .models import LedgerEntry


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = ("case", "seq", "action", "from_state", "to_state", "actor_name", "occurred_at", "source", "short_hash")
    list_filter = ("action", "source")
    search_fields = ("case__number", "actor_name")
    list_select_related = ("case",)
    ordering = ("-occurred_at", "-id")
    readonly_fields = ("case", "seq", "action", "from_state", "to_state", "actor", "actor_name", "occurred_at",
                       "recorded_at", "source", "due_date", "payload", "prev_hash", "hash")
    fields = readonly_fields
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).filter(case__in=Case.objects.for_user(request.user))

    @admin.display(description="hash")
    def short_hash(self, entry):
        return entry.hash[:12]

    def has_module_permission(self, request):
        return has_role(request.user)

    def has_view_permission(self, request, obj=None):
        return has_role(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
