from django.utils.functional import SimpleLazyObject

from .services import unread_count


def unread(request):
    """``unread_notifications`` for the header badge (one COUNT on the indexed (user, read_at)).

    Counted at most once per request, and only when a template shows it: context processors run
    again for every template rendered with the request (django-tables2's ``render_table`` renders
    the table's own), which counted the unread notifications twice on every list page.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notifications": 0}
    count = getattr(request, "_unread_notifications", None)
    if count is None:
        count = request._unread_notifications = SimpleLazyObject(lambda: unread_count(user))
    return {"unread_notifications": count}
