"""Pages are Simplified Chinese unless the user chose another language with the switcher.

Many office PCs run a browser set to English; the product's users read Chinese, so the pages
ignore the browser's Accept-Language and follow only the language cookie the switcher sets.
The API still honours Accept-Language for systems that ask for English messages.
"""


class ChineseUnlessChosenMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
