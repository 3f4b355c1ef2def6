"""The 404 handler: the app's own page, with the app's reason when it gave one.

Django's stock handler shows ``str(exception)``, which for a mistyped address is "Resolver404"
and for ``get_object_or_404`` the English "No Case matches the given query." — neither is for a
county office to read. The app's own ``Http404(_("…"))`` reasons (translated) are kept.
"""

from django.shortcuts import render

from .api_errors import not_found as api_not_found

_DJANGO_DEFAULT = "matches the given query."


def page_not_found(request, exception=None):
    if request.path_info.startswith("/api/"):
        # An API address that names nothing answers JSON like every other API error.
        return api_not_found(request, exception)
    reason = exception.args[0] if exception is not None and exception.args else ""
    if not isinstance(reason, str) or reason.endswith(_DJANGO_DEFAULT):
        reason = ""
    return render(request, "404.html", {"reason": reason}, status=404)
