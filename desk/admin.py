"""The record of changes to department users, read-only in the admin and scoped like the page."""

from django.contrib import admin

from cases.admin import NoWritesAdmin
from cases.roles import is_office

from . import staff
from .models import StaffChange


@admin.register(StaffChange)
class StaffChangeAdmin(NoWritesAdmin):
    list_display = ["at", "actor_name", "action", "username", "department", "region"]
    list_filter = ["action"]
    search_fields = ["username", "actor_name"]
    list_select_related = ["department", "region"]

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff and is_office(request.user)

    def get_queryset(self, request):
        return staff.changes_for(request.user)
