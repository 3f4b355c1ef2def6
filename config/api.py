"""The REST API under /api/v1/ (SPEC §8). Each app contributes its routes in its own api.py."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from cases.api import CaseViewSet, DepartmentViewSet, ImportViewSet
from cases.api_calendar import DueDateView
from cases.api_routing import RoutingSuggestionsView
from cases.api_similar import SimilarCasesView
from cases.views_enterprise import EnterpriseView
from notices.api import NoticeScheduleViewSet, NoticeViewSet
from notifications.api import NotificationViewSet
from scoring.api import ItemView, OutlookView, ScoresView

router = SimpleRouter()
router.register("departments", DepartmentViewSet, basename="department")
router.register("cases", CaseViewSet, basename="case")
router.register("imports", ImportViewSet, basename="import")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("notice-schedules", NoticeScheduleViewSet, basename="notice-schedule")
router.register("notices", NoticeViewSet, basename="notice")

urlpatterns = [
    path("", include(router.urls)),
    path("enterprises/<str:credit_code>/", EnterpriseView.as_view(), name="enterprise"),
    path("similar-cases/", SimilarCasesView.as_view(), name="similar-cases"),
    path("calendar/due-date/", DueDateView.as_view(), name="calendar-due-date"),
    path("routing-suggestions/", RoutingSuggestionsView.as_view(), name="routing-suggestions"),
    path("scores/<str:year>/outlook/", OutlookView.as_view(), name="scores-outlook"),
    path("scores/<str:year>/", ScoresView.as_view(), name="scores"),
    path("scores/<str:year>/<str:region>/items/<str:number>/", ItemView.as_view(), name="score-item"),
]
