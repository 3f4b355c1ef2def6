"""The in-app inbox: list, mark read, mark all read. Each user sees only their own messages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import services
from .models import Notification

PAGE_SIZE = 30


@login_required
def inbox(request):
    notifications = Notification.objects.filter(user=request.user).select_related("case")
    only_unread = request.GET.get("unread") in ("1", "true")
    if only_unread:
        notifications = notifications.filter(read_at=None)
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "notifications/inbox.html", {"page": page, "only_unread": only_unread})


def _back(request):
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect("notifications:inbox")


@login_required
@require_POST
def mark_read(request, pk: int):
    # Someone else's notification answers 404, like anything outside a user's scope.
    note = get_object_or_404(Notification, pk=pk, user=request.user)
    services.mark_read(note)
    return _back(request)


@login_required
@require_POST
def mark_all_read(request):
    services.mark_all_read(request.user)
    return _back(request)
