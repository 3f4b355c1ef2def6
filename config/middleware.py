"""Pages are Simplified Chinese unless the user chose another language with the switcher.

Many office PCs run a browser set to English; the product's users read Chinese, so the pages
ignore the browser's Accept-Language and follow only the language cookie the switcher sets.
The API still honours Accept-Language for systems that ask for English messages.
"""

from django.db import OperationalError
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from cases.input_rules import has_control_characters


class ChineseUnlessChosenMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)


class RefuseControlCharactersMiddleware:
    """No URL path or query parameter carries a control character (NUL, ESC, …).

    PostgreSQL refuses NUL in any text it is asked to compare, so ``?region=%00`` or
    ``/scoring/2026/%00/`` would otherwise reach a query and answer 500. The rule is
    ``cases.input_rules``'s, applied once here to every URL: a path naming something with such a
    character names nothing (404); a query parameter holding one is bad input (400). The API
    answers in its JSON error shape, pages with the site's error page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if has_control_characters(request.path_info):
            return self._refuse(request, 404, _("The page does not exist, or it is outside what you may see."))
        # Surrounding whitespace is trimmed, as forms and serializers trim it; NUL never is.
        for key, values in request.GET.lists():
            if has_control_characters(key) or any(has_control_characters(value.strip()) for value in values):
                return self._refuse(
                    request, 400, _("The address contains a control character (such as NUL); correct it and try again.")
                )
        return self.get_response(request)

    @staticmethod
    def _refuse(request, status: int, message: str):
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": message}, status=status)
        template = "404.html" if status == 404 else "400.html"
        return render(request, template, {"exception": message, "reason": message}, status=status)


def _statement_cancelled(exception: BaseException) -> bool:
    """A PostgreSQL statement stopped by ``statement_timeout`` (DATABASE_STATEMENT_TIMEOUT_SECONDS)."""
    try:
        from psycopg.errors import QueryCanceled
    except ImportError:  # SQLite-only installation: no statement timeout either
        return False
    return isinstance(exception, OperationalError) and isinstance(exception.__cause__, QueryCanceled)


class BusyOnStatementTimeoutMiddleware:
    """A query PostgreSQL cancelled after the statement timeout answers 503 "busy", not 500.

    The timeout (``DATABASE_STATEMENT_TIMEOUT_SECONDS``, 30 s in the web processes) keeps a runaway
    query from holding a web thread; what the user sees is the same "busy, try again" as under
    overload, with ``Retry-After``. The transaction was rolled back whole, as for any error.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not _statement_cancelled(exception):
            return None
        message = _("The server is busy and could not answer in time. Try again in a few seconds.")
        if request.path_info.startswith("/api/"):
            response = JsonResponse({"detail": message}, status=503)
        else:
            response = render(request, "503.html", status=503)
        response["Retry-After"] = "5"
        return response
