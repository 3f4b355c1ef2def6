from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from config.health import healthz
from desk.views import dashboard

# The API documentation pages (third-party UIs) inject their own styles and Redoc runs a web
# worker from a blob: loosen the Content-Security-Policy for these two pages only. Swagger UI is
# served "split" so its start-up script is a file, not inline.
_api_docs_csp = csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["'self'", "blob:"], "img-src": ["data:"]})


def favicon(request):
    """Browsers ask for /favicon.ico on pages that name no icon (the API's, downloads)."""
    return redirect(static("favicon.svg"), permanent=True)


handler404 = "config.error_pages.page_not_found"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/schema/swagger/", _api_docs_csp(SpectacularSwaggerSplitView.as_view(url_name="schema")), name="swagger-ui"
    ),
    path("api/schema/redoc/", _api_docs_csp(SpectacularRedocView.as_view(url_name="schema")), name="redoc"),
    path("notices/", include("notices.urls")),
    path("scoring/", include("scoring.urls")),
    path("notifications/", include("notifications.urls")),
    # The start page: each role's dashboard (desk). Lower apps and the error pages link to it as
    # "home", so none of them names the app above it.
    path("", dashboard, name="home"),
    path("", include("desk.urls")),
    path("", include("cases.urls")),
]
