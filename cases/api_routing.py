"""``GET /api/v1/routing-suggestions/?region=CODE&category=C&description=TEXT`` (SPEC §8): up to
three departments for a new case, best first, learned from the region's history
(``cases.routing_suggestions``). For the offices that route; a region outside the user's scope
is 404, and the similar cases named are only ones the user may see."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .access import regions_for_user
from .api import ApiAuth, errors
from .errors import NotAllowed, NotFound
from .input_rules import text_problem
from .models import Case, Category
from .roles import is_office
from .routing_suggestions import suggest

DESCRIPTION_MAX = 5000
# What the serializer takes, as the schema says it: no control characters, something besides spaces.
_NO_CONTROLS = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
_SOME_TEXT = (
    "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
)


def _text(max_length: int) -> dict:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": _SOME_TEXT}


class SuggestionQuerySerializer(serializers.Serializer):
    region = serializers.CharField(
        max_length=50,
        help_text="Region code (or Chinese name)",
        error_messages={
            "required": gettext_lazy("Give the region (region=CODE)."),
            "blank": gettext_lazy("Give the region (region=CODE)."),
        },
    )
    category = serializers.CharField(
        max_length=50, required=False, allow_blank=True, help_text="Category code or Chinese name"
    )
    description = serializers.CharField(
        max_length=DESCRIPTION_MAX,
        help_text="The problem as the enterprise put it",
        error_messages={
            "required": gettext_lazy("Give the problem description (description=TEXT)."),
            "blank": gettext_lazy("Give the problem description (description=TEXT)."),
        },
    )

    def validate_category(self, value: str) -> Category | None:
        value = value.strip()
        if not value:
            return None
        category = Category.objects.filter(Q(code=value) | Q(name=value)).first()
        if category is None:  # like an unknown region: no such object
            raise NotFound(_("No such category."))
        return category

    def validate_description(self, value: str) -> str:
        problem = text_problem(value, multiline=True)
        if problem:
            raise serializers.ValidationError(problem)
        return value


class _DepartmentRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SuggestionSerializer(serializers.Serializer):
    department = _DepartmentRef()
    score = serializers.FloatField(help_text="This department's share of the suggestions' weight, 0–1")
    similar = serializers.ListField(
        child=serializers.CharField(), help_text="Numbers of the most similar cases it handled (those the user may see)"
    )
    reason = serializers.CharField(help_text="Why, in words (e.g. 近一年 6 件类似问题由息县供电公司办结)")


class RoutingSuggestionsView(ApiAuth, APIView):
    @extend_schema(
        summary="Departments suggested for a new case, best first",
        parameters=[
            OpenApiParameter("region", _text(50), required=True, description="Region code (or Chinese name)"),
            OpenApiParameter(
                "category",
                {"type": "string", "maxLength": 50, "pattern": _NO_CONTROLS},
                required=False,
                description="Category code or Chinese name",
            ),
            OpenApiParameter(
                "description",
                _text(DESCRIPTION_MAX),
                required=True,
                description="The problem text (at most 5,000 characters)",
            ),
        ],
        responses={200: SuggestionSerializer(many=True), **errors(400, 403, 404)},
        examples=[
            OpenApiExample(
                "A power-capacity problem in 息县",
                response_only=True,
                value=[
                    {
                        "department": {"id": 7, "name": "息县供电公司"},
                        "score": 0.81,
                        "similar": ["411528-2026-00031", "411528-2026-00112"],
                        "reason": "近一年 6 件类似问题由息县供电公司办结",
                    }
                ],
            )
        ],
    )
    def get(self, request):
        if not is_office(request.user):
            raise NotAllowed(_("Only a county office or the city office may do this."))
        query = SuggestionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        code = data["region"].strip()
        region = regions_for_user(request.user).filter(Q(code=code) | Q(name=code)).first()
        if region is None:
            raise NotFound(_("No such region."))
        suggestions = suggest(
            region=region,
            description=data["description"],
            category=data.get("category"),
            now=timezone.now(),
            visible_cases=Case.objects.for_user(request.user),
        )
        return Response(
            SuggestionSerializer(
                [
                    {
                        "department": {"id": s.department.pk, "name": s.department.name},
                        "score": s.score,
                        "similar": s.similar,
                        "reason": s.reason,
                    }
                    for s in suggestions
                ],
                many=True,
            ).data
        )
