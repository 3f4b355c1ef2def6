"""``GET /api/v1/similar-cases/?credit_code=&description=``: before a case is saved, the enterprise's
cases of the last 365 days with close text that this user may see (cases/similar.py). The intake
page asks it as the credit code and the description are filled in ("该企业近期已反映过类似问题").

A preview answers what it can: a credit code that is not valid (yet — the clerk is still typing)
names no enterprise, so nothing is similar; the answer says why in ``credit_code_problem``. Only a
missing or empty parameter, or one longer than the form takes, is refused (400)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from . import credit_code
from .api import ApiAuth, errors
from .errors import InvalidInput
from .input_rules import ECMA_URL_PATTERN
from .serializers import SimilarCaseSerializer
from .similar import similar_to_text

MAX_CODE = 18
MAX_DESCRIPTION = 5000


def _param(request, name: str, label: str, max_length: int) -> str:
    value = request.query_params.get(name)
    if value is None or value == "":
        raise InvalidInput(_("%(label)s is required.") % {"label": label}, field=name)
    if len(value) > max_length:
        raise InvalidInput(
            _("%(label)s is too long (at most %(n)d characters).") % {"label": label, "n": max_length}, field=name
        )
    return value


class SimilarCasesView(ApiAuth, APIView):
    @extend_schema(
        summary="Similar recent cases of an enterprise, before a case is logged",
        parameters=[
            OpenApiParameter(
                "credit_code",
                {"type": "string", "minLength": 1, "maxLength": MAX_CODE, "pattern": ECMA_URL_PATTERN},
                required=True,
                description="Unified social credit code (18 characters)",
            ),
            OpenApiParameter(
                "description",
                {"type": "string", "minLength": 1, "maxLength": MAX_DESCRIPTION, "pattern": ECMA_URL_PATTERN},
                required=True,
                description="The problem as described (line breaks sent as spaces)",
            ),
        ],
        responses={
            200: inline_serializer(
                "SimilarCases",
                {
                    "credit_code": serializers.CharField(),
                    "credit_code_problem": serializers.CharField(allow_null=True),
                    "similar": SimilarCaseSerializer(many=True),
                },
            ),
            **errors(400),
        },
    )
    def get(self, request):
        code = credit_code.normalize(_param(request, "credit_code", _("Unified social credit code"), MAX_CODE))
        description = _param(request, "description", _("Problem description"), MAX_DESCRIPTION)
        problem = credit_code.problem(code)
        found = [] if problem else similar_to_text(request.user, credit_code=code, description=description)
        return Response(
            {
                "credit_code": code,
                "credit_code_problem": str(problem) if problem else None,
                "similar": SimilarCaseSerializer(found, many=True).data,
            }
        )
