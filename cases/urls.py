from django.urls import path

from . import views

app_name = "cases"

urlpatterns = [
    path("ledger/", views.ledger, name="ledger"),
    path("ledger/export.csv", views.ledger_export_csv, name="ledger_export_csv"),
    path("ledger/export.xlsx", views.ledger_export_xlsx, name="ledger_export_xlsx"),
    path("cases/new/", views.intake, name="intake"),
    path("cases/<int:pk>/", views.detail, name="detail"),
    path("cases/evidence/<int:pk>/download/", views.evidence_download, name="evidence_download"),
]

# One URL per action (/cases/<pk>/assign/, /cases/<pk>/follow-up/ …), all served by one
# table-driven view; the URL name is the action's name (cases:assign, cases:follow_up …).
urlpatterns += [
    path(f"cases/<int:pk>/{name.replace('_', '-')}/", views.case_action, {"action": name}, name=name)
    for name in views.ACTIONS
]

# Deadline extensions (延期): forms in cases/_extension_actions.html, views in cases/views_extensions.py.
from . import views_extensions  # noqa: E402

urlpatterns += [
    path("cases/<int:pk>/request-extension/", views_extensions.request_extension, name="request_extension"),
    path("cases/<int:pk>/approve-extension/", views_extensions.approve_extension, name="approve_extension"),
    path("cases/<int:pk>/reject-extension/", views_extensions.reject_extension, name="reject_extension"),
]

# Import of existing ledgers (SPEC §7): upload page, progress, summary, template (cases/views_import.py).
from .views_import import import_urls  # noqa: E402

urlpatterns += import_urls()

# The working-day calendar: the years as they stand, entering next year's notice (cases/views_calendar.py).
from . import views_calendar  # noqa: E402

urlpatterns += [
    path("calendar/", views_calendar.calendar_index, name="calendar"),
    path("calendar/<int:year>/enter/", views_calendar.calendar_enter, name="calendar_enter"),
]
