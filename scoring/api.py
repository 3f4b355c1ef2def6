"""REST endpoints of SPEC §8: the scoring JSON, and entering an item's points.

``GET /api/v1/scores/{year}/?cutoff=DATE&region=CODE`` answers exactly the JSON of SPEC §6 (the
same bytes as ``manage.py score --format json``); ``PUT /api/v1/scores/{year}/{region}/items/{n}/``
with ``{points, note}`` enters a manual item or overrides an automatic one (note = reason).
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.errors import InvalidInput, NotFound
from cases.input_rules import local_today, parse_id, year_problem

from . import outlook, services, snapshots
from .ladders import points_str
from .models import Override
from .results import find_county
from .scope import parse_cutoff


def _year(value) -> int:
    """The year in the URL: ASCII digits, 2000 to next year (cases.input_rules); else 404."""
    year = parse_id(value)
    if year is None or year_problem(year, today=local_today()):
        raise NotFound(_("No such year."))
    return year


class ScoresView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("cutoff", OpenApiTypes.DATE, description="YYYY-MM-DD within the year; default 12-20"),
            OpenApiParameter("region", OpenApiTypes.STR, description="GB/T 2260 code or name of one county"),
            OpenApiParameter("rule_set", OpenApiTypes.STR, description="rule set code; default xinyang-2012"),
        ],
        responses={200: OpenApiTypes.OBJECT},
        summary="The year's scores (SPEC §6 JSON)",
    )
    def get(self, request, year):
        year = _year(year)
        cutoff = parse_cutoff(request.query_params.get("cutoff"), year)
        readable = services.readable_region_codes(request.user)
        region_param = request.query_params.get("region")
        if region_param:
            region = find_county(region_param)
            if readable is not None and region.code not in readable:
                raise NotFound(_("No such region: %(value)s.") % {"value": region_param})
            codes: list[str] | None = [region.code]
        else:
            if readable == []:
                raise NotFound(_("No scores to show."))
            codes = readable
        body = services.frozen_or_live_bytes(
            year,
            cutoff=cutoff,
            region_codes=codes,
            rule_set=request.query_params.get("rule_set") or None,
            stored=True,
        )
        return HttpResponse(body, content_type="application/json; charset=utf-8")


class ItemView(APIView):
    @extend_schema(
        request=inline_serializer(
            "ItemPoints",
            {
                "points": serializers.CharField(),
                "note": serializers.CharField(required=False),
                "inputs": serializers.DictField(required=False),
            },
        ),
        responses={200: OpenApiTypes.OBJECT},
        summary="Enter a manual item's points, or override an automatic item (note = reason)",
    )
    def put(self, request, year, region, number):
        year = _year(year)
        region_obj = find_county(region)
        data = request.data if hasattr(request.data, "get") else {}
        if not hasattr(request.data, "get"):
            raise InvalidInput(_("Send a JSON object with points and note."))
        inputs = data.get("inputs") or None
        if inputs is not None and not isinstance(inputs, dict):
            raise InvalidInput(_("inputs must be an object."), field="inputs")
        if not isinstance(data.get("note") or "", str):
            raise InvalidInput(_("This field must be text."), field="note")
        record = services.set_item_points(
            year,
            region_obj,
            number,
            by=request.user,
            points=data.get("points"),
            note=data.get("note") or "",
            inputs=inputs,
        )
        body = {
            "year": year,
            "region": region_obj.code,
            "item": str(record.item_number),
            "points": points_str(record.points),
            "by": record.entered_by.get_username(),
            "at": record.entered_at.isoformat(),
        }
        if isinstance(record, Override):
            # "note" is what the client sent (SPEC §8); "reason" names it as the scores JSON's overrides do.
            body.update(
                {
                    "auto": True,
                    "computed": points_str(record.computed_points),
                    "note": record.reason,
                    "reason": record.reason,
                }
            )
        else:
            body.update({"auto": False, "note": record.note, "inputs": record.inputs})
        return Response(body)


def _outlook_region(request):
    """The county asked for (``?region=``), or the user's only one; 404 outside the user's scope."""
    readable = services.readable_region_codes(request.user)
    value = request.query_params.get("region")
    if not value:
        if readable is not None and len(readable) == 1:
            value = readable[0]
        else:
            raise InvalidInput(_("Name the county: region=CODE."), field="region")
    region = find_county(value)
    if readable is not None and region.code not in readable:
        raise NotFound(_("No such region: %(value)s.") % {"value": value})
    return region


class OutlookView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "region",
                OpenApiTypes.STR,
                description="GB/T 2260 code or name of one county (a county office may leave it out)",
            ),
            OpenApiParameter(
                "cutoff",
                OpenApiTypes.DATE,
                description="YYYY-MM-DD within the year; default: the assessment's, else 12-20",
            ),
        ],
        responses={200: OpenApiTypes.OBJECT},
        summary="The outlook before the cutoff: item 15 as of today, the pending cases that decide it, best, "
        "worst and the fewest on-time closings for each step; item 13's incomplete cases; item 14's periods. "
        "For the assessment's own cutoff items 15 and 13 are read from the stored scores (computed_at: when); "
        "another cutoff is scored on the request",
    )
    def get(self, request, year):
        year = _year(year)
        cutoff = parse_cutoff(request.query_params.get("cutoff"), year)
        region = _outlook_region(request)
        today = local_today()
        if cutoff is None or cutoff == snapshots.question(year, today).planned:
            # The default question from the stored scores (computed_at says when), as the page.
            result = outlook.stored_outlook(region, year, today=today)
        else:
            result = outlook.outlook_for(region, year, today=today, cutoff=cutoff)
        return Response(result.as_json())
