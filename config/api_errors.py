"""One error shape for the whole API (SPEC §8): {"detail": "…"} or {"field": ["…"]},
with 400 for bad input, 403 for a role that may not, 404 outside scope, 409 wrong state or a lost race."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from cases.errors import CaseError


def exception_handler(exc, context):
    if isinstance(exc, CaseError):
        return Response(exc.as_json(), status=exc.status)
    if isinstance(exc, Http404):
        return Response({"detail": _("Not found.")}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, DjangoValidationError):
        body = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {
                "detail": _("The request body is too large (at most %(n)d bytes).")
                % {"n": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return Response({"detail": _("The request has too many fields or files.")}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, IntegrityError):
        return Response(
            {"detail": _("The change conflicts with another one made at the same time; try again.")},
            status=status.HTTP_409_CONFLICT,
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, ValidationError):
        response.data = flat_errors(response.data)
    return response


def not_found(request, exception):
    """An API address that names nothing answers JSON like every other API error (called by the
    site's handler404, config.error_pages.page_not_found, for /api/ addresses)."""
    return JsonResponse({"detail": _("Not found.")}, status=status.HTTP_404_NOT_FOUND)


def _messages(value, prefix: str = "") -> list[str]:
    """Every message under ``value`` (a list, or a nested serializer's dict), as "sub.field: message"."""
    if isinstance(value, dict):
        found = []
        for key, inner in value.items():
            label = "" if key == api_settings.NON_FIELD_ERRORS_KEY else f"{prefix}{key}"
            found += _messages(inner, f"{label}." if label else prefix)
        return found
    if isinstance(value, list | tuple):
        return [message for item in value for message in _messages(item, prefix)]
    text = str(value)
    return [f"{prefix[:-1]}: {text}" if prefix else text]


def flat_errors(data):
    """Errors in the SPEC's shape: ``{"field": ["…"]}`` or ``{"detail": "…"}``.

    A nested body's errors stay under the top-level field the client sent (``{"enterprise":
    ["credit_code: …"]}``) and errors about the body as a whole become ``detail``.
    """
    if isinstance(data, list | tuple):
        return {"detail": " ".join(_messages(data))}
    if not isinstance(data, dict):
        return data
    shaped = {}
    for key, value in data.items():
        if key == api_settings.NON_FIELD_ERRORS_KEY:
            shaped["detail"] = " ".join(_messages(value))
        elif key == "detail" and isinstance(value, str):
            shaped[key] = value
        else:
            shaped[key] = _messages(value)
    return shaped
