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

# One URL per action on a case (/cases/<pk>/assign/, /cases/<pk>/request-extension/ …), named
# for the action (cases:assign, cases:request_extension …), all from cases.actions: the grid's
# forms share one table-driven view; the extension card's post to cases/views_extensions.py.
from . import views_extensions  # noqa: E402
from .actions import Page, on_case  # noqa: E402


def _view_for(action):
    if action.page is Page.EXTENSION:
        return views_extensions.view_for(action), {}
    return views.case_action, {"action": action.name}


urlpatterns += [path(f"cases/<int:pk>/{action.slug}/", *_view_for(action), name=action.name) for action in on_case()]

# Import of existing ledgers (SPEC §7): upload page, progress, summary, template (cases/views_import.py).
from .views_import import import_urls  # noqa: E402

urlpatterns += import_urls()

# The working-day calendar: the years as they stand, entering next year's notice (cases/views_calendar.py).
from . import views_calendar  # noqa: E402

urlpatterns += [
    path("calendar/", views_calendar.calendar_index, name="calendar"),
    path("calendar/<int:year>/enter/", views_calendar.calendar_enter, name="calendar_enter"),
]

# An enterprise's history across years (cases/views_enterprise.py).
from . import views_enterprise  # noqa: E402

urlpatterns += [path("enterprises/<str:code>/", views_enterprise.enterprise_page, name="enterprise")]
