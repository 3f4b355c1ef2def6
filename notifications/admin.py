"""Admin for the outbox and delivery records (read-only, city office)."""

from django.contrib import admin

from cases.admin import NoWritesAdmin
from cases.roles import Role, role_of

from .models import Delivery, Reminder, SweepRun


class ReadOnlyForCityOffice(NoWritesAdmin):
    def has_view_permission(self, request, obj=None):
        user = request.user
        return user.is_active and (user.is_superuser or role_of(user) == Role.CITY_OFFICE)


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyForCityOffice):
    list_display = ["case", "kind", "due_date", "status", "created_at", "sent_at", "attempts"]
    list_filter = ["kind", "status"]
    search_fields = ["case__number"]
    list_select_related = ["case"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyForCityOffice):
    list_display = ["attempted_at", "transport", "address", "subject", "status", "attempt", "purpose"]
    list_filter = ["status", "transport"]
    search_fields = ["address", "purpose", "subject"]


@admin.register(SweepRun)
class SweepRunAdmin(ReadOnlyForCityOffice):
    list_display = ["started_at", "finished_at", "host", "planned", "sent", "cancelled", "deliveries"]
