"""The deadline calculator: ``GET /api/v1/calendar/due-date/?received=YYYY-MM-DD&days=N`` (SPEC §8).

Any signed-in user may ask; the answer is what a case received that day with that allowance
would be given (``cases.workdays``): the N-th working day after the day of receipt, whether it
was counted provisionally (a year not yet entered) and the calendar versions it was counted on.
The intake form and the extension forms call it to show the due date before saving.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from . import workdays
from .api import ApiAuth, errors
from .models import local_date

FIRST_RECEIVED = dt.date(2000, 1, 1)
MAX_DAYS = 60  # the longest allowance a case gets: a complex case plus extensions stays well below
DAYS_RANGE = format_lazy(gettext_lazy("The number of working days is between 1 and {max_days}."), max_days=MAX_DAYS)


def last_received(today: dt.date) -> dt.date:
    """The latest day of receipt the calculator answers for: the end of next year."""
    return dt.date(today.year + 1, 12, 31)


class DueDateQuerySerializer(serializers.Serializer):
    received = serializers.DateField(
        input_formats=["%Y-%m-%d"],
        help_text="Day of receipt (local date), YYYY-MM-DD",
        error_messages={
            "required": gettext_lazy("Give the day of receipt (received=YYYY-MM-DD)."),
            "invalid": gettext_lazy("The day of receipt must be a date written YYYY-MM-DD."),
            "null": gettext_lazy("Give the day of receipt (received=YYYY-MM-DD)."),
        },
    )
    days = serializers.IntegerField(
        min_value=1,
        max_value=MAX_DAYS,
        help_text=f"Working days allowed, 1–{MAX_DAYS}",
        error_messages={
            "required": gettext_lazy("Give the number of working days (days=N)."),
            "invalid": gettext_lazy("The number of working days must be a whole number."),
            "min_value": DAYS_RANGE,
            "max_value": DAYS_RANGE,
            "max_string_length": gettext_lazy("The number of working days must be a whole number."),
        },
    )

    def validate_received(self, value: dt.date) -> dt.date:
        latest = last_received(self.context["today"])
        if not FIRST_RECEIVED <= value <= latest:
            raise serializers.ValidationError(
                _("The day of receipt must lie between %(first)s and %(last)s.")
                % {"first": FIRST_RECEIVED.isoformat(), "last": latest.isoformat()}
            )
        return value


class DueDateSerializer(serializers.Serializer):
    due_date = serializers.DateField(help_text="The N-th working day after the day of receipt")
    provisional = serializers.BooleanField(
        help_text="True when a year it was counted on has no official schedule yet (weekends and the "
        "statutory holidays of the law only)"
    )
    calendar_version = serializers.CharField(
        help_text="The calendar versions counted on, e.g. 2026.1+2027.provisional-statutory-2025"
    )


# What the schema can say of a day of receipt: a date of this century. The upper bound (the end of
# next year) moves with today, which JSON Schema cannot state; the answer then is a documented 400.
RECEIVED_PATTERN = r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


class DueDateView(ApiAuth, APIView):
    @extend_schema(
        summary="The due date of a case received on a given day with N working days",
        parameters=[
            OpenApiParameter(
                "received",
                {"type": "string", "format": "date", "pattern": RECEIVED_PATTERN},
                required=True,
                description="Day of receipt, YYYY-MM-DD (2000-01-01 to the end of next year)",
            ),
            OpenApiParameter(
                "days",
                {"type": "integer", "minimum": 1, "maximum": MAX_DAYS},
                required=True,
                description=f"Working days allowed, 1–{MAX_DAYS}",
            ),
        ],
        responses={200: DueDateSerializer, **errors(400)},
        examples=[
            OpenApiExample(
                "Across the 2026–2027 New Year, before 2027 is entered",
                value={
                    "due_date": "2027-01-05",
                    "provisional": True,
                    "calendar_version": "2026.1+2027.provisional-statutory-2025",
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        query = DueDateQuerySerializer(data=request.query_params, context={"today": local_date(timezone.now())})
        query.is_valid(raise_exception=True)
        due = workdays.add_working_days(query.validated_data["received"], query.validated_data["days"])
        return Response(
            DueDateSerializer(
                {"due_date": due.date, "provisional": due.provisional, "calendar_version": due.calendar_version}
            ).data
        )
