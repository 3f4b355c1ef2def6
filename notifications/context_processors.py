from .services import unread_count


def unread(request):
    """``unread_notifications`` for the header badge (one COUNT on the indexed (user, read_at))."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notifications": 0}
    return {"unread_notifications": unread_count(user)}
