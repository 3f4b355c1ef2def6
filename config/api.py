"""The REST API under /api/v1/ (SPEC §8). Each app contributes its routes in its own api.py."""
from django.urls import include, path
from rest_framework.routers import SimpleRouter

router = SimpleRouter()

urlpatterns = [
    path("", include(router.urls)),
]
