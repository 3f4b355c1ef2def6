"""The ledger in the admin: read-only for everyone, superusers included, and scoped like the UI.

The database refuses UPDATE and DELETE on ledger rows anyway; the admin does not even offer them.
"""
from __future__ import annotations

from django.contrib import admin

from cases.admin import RoleReadOnlyAdmin
from cases.models import Case

from .models import LedgerEntry


@admin.register(LedgerEntry)
class LedgerEntryAdmin(RoleReadOnlyAdmin):
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
