"""An enterprise's history: the page (linked from every case page) and
``GET /api/v1/enterprises/{credit_code}/`` (cases/enterprise_history.py)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from .api import ApiAuth, errors
from .enterprise_history import history_for
from .errors import NotFound


@require_GET
@login_required
def enterprise_page(request, code: str):
    try:
        history = history_for(request.user, code)
    except NotFound:
        raise Http404 from None
    return render(request, "cases/enterprise.html", {"history": history, "counts": history.counts})


class EnterpriseView(ApiAuth, APIView):
    @extend_schema(
        summary="An enterprise's history: the cases of it this user may see (404 when none)",
        responses={200: OpenApiTypes.OBJECT, **errors(404)},
    )
    def get(self, request, credit_code):
        return Response(history_for(request.user, credit_code).as_json())
