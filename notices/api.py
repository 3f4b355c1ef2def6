"""REST endpoints for schedules and notices (SPEC §8), scoped like the pages.

Writes go through ``notices.services``; their errors become 400/403/404/409 JSON through the
project's exception handler.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cases.errors import InvalidInput, NotFound
from cases.input_rules import local_today, parse_id, year_problem

from . import periods, services
from .access import visible_region
from .models import Notice, NoticeSchedule, Recipient
from .pdf import notice_pdf


class RecipientSerializer(serializers.ModelSerializer):
    class Meta:
        model = Recipient
        fields = ["group", "name", "email"]


class ScheduleSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region.code", read_only=True)
    region_name = serializers.CharField(source="region.name", read_only=True)
    recipients = RecipientSerializer(many=True, read_only=True)

    class Meta:
        model = NoticeSchedule
        fields = [
            "id",
            "region",
            "region_name",
            "frequency",
            "start_date",
            "office_name",
            "number_prefix",
            "recipients",
            "updated_at",
        ]


FIGURE_KEYS = ("received", "assigned", "resolved", "explained", "open", "on_time_rate", "overdue", "supervised")


class NoticeSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region.code", read_only=True)
    region_name = serializers.CharField(source="region.name", read_only=True)
    figures = serializers.SerializerMethodField()
    document_url = serializers.SerializerMethodField()
    supersedes = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)  # null: an original

    class Meta:
        model = Notice
        fields = [
            "id",
            "region",
            "region_name",
            "period",
            "status",
            "issued_on",
            "offline",
            "groups",
            "figures",
            "departments",
            "changes",
            "title",
            "covering_text",
            "supersedes",
            "drafted_at",
            "figures_computed_at",
            "document_url",
            "document_number",
            "issuing_office",
            "issued_late",
            "pdf_url",
        ]

    def get_figures(self, notice: Notice) -> dict:
        figures = notice.figures or {}
        shaped = {key: figures.get(key) for key in FIGURE_KEYS}
        shaped["overdue_cases"] = figures.get("overdue_cases", [])
        return shaped

    issued_late = serializers.BooleanField(read_only=True)
    pdf_url = serializers.SerializerMethodField()

    def get_pdf_url(self, notice: Notice) -> str:
        return reverse("notices:pdf", args=[notice.pk])

    def get_document_url(self, notice: Notice) -> str | None:
        if not notice.document:
            return None
        return reverse("notices:document", args=[notice.pk])


def _date(value, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(_("Give the date as YYYY-MM-DD."), field=field) from None


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise InvalidInput(_("Send a JSON object (or a form)."))
    return request.data


def _text(value, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(_("This field must be text."), field=field)
    return value


def _truthy(value) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


class IssueSerializer(serializers.Serializer):
    confirm_empty_body = serializers.BooleanField(
        required=False, default=False, help_text="Issue even though the body (covering_text) is empty."
    )


class NoticeScheduleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """``GET`` lists the schedules in scope (``?region=``); ``POST`` creates or replaces a region's."""

    serializer_class = ScheduleSerializer
    pagination_class = None  # SPEC §8: a list, not a page

    def get_queryset(self):
        queryset = (
            NoticeSchedule.objects.for_user(self.request.user)
            .select_related("region")
            .prefetch_related(Prefetch("recipients", queryset=Recipient.objects.order_by("group", "id")))
        )
        region = self.request.query_params.get("region")
        if region:
            try:
                queryset = queryset.filter(region=visible_region(self.request.user, region))
            except (NotFound, InvalidInput):
                return queryset.none()
        return queryset

    def create(self, request, *args, **kwargs):
        data = _body(request)
        region = visible_region(request.user, data.get("region"))
        recipients = data.get("recipients")
        if not isinstance(recipients, list):
            raise InvalidInput(_("Give the recipients as a list of {group, name, email}."), field="recipients")
        schedule, created = services.save_schedule(
            by=request.user,
            region=region,
            frequency=data.get("frequency") or "monthly",
            start_date=_date(data.get("start_date"), "start_date"),
            recipients=recipients,
            office_name=_text(data.get("office_name"), "office_name"),
            number_prefix=_text(data.get("number_prefix"), "number_prefix"),
        )
        schedule = self.get_queryset().get(pk=schedule.pk)
        return Response(
            self.get_serializer(schedule).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class NoticeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Notices in scope; ``POST`` drafts one, or registers an offline one with ``offline: true``."""

    serializer_class = NoticeSerializer
    pagination_class = None  # SPEC §8: "list of notices", not a page

    def get_queryset(self):
        queryset = (
            Notice.objects.for_user(self.request.user).select_related("region").order_by("region__code", "period", "id")
        )
        params = self.request.query_params
        if self.action == "list":
            if params.get("region"):
                try:
                    queryset = queryset.filter(region=visible_region(self.request.user, params["region"]))
                except (NotFound, InvalidInput):
                    return queryset.none()
            if params.get("year"):
                year = params["year"].strip()
                if not (len(year) == 4 and parse_id(year)):
                    raise InvalidInput(_("The year must be four digits."), field="year")
                if problem := year_problem(int(year), today=local_today()):
                    raise InvalidInput(problem, field="year")
                queryset = queryset.filter(period__startswith=f"{year}-")
            if params.get("status"):
                queryset = queryset.filter(status=params["status"])
        return queryset

    def get_object(self):
        number = parse_id(self.kwargs["pk"])
        notice = self.get_queryset().filter(pk=number).first() if number is not None else None
        if notice is None:
            raise Http404
        return notice

    def create(self, request, *args, **kwargs):
        data = _body(request)
        region = visible_region(request.user, data.get("region"))
        period = periods.parse(data.get("period"))
        if _truthy(data.get("offline", False)):
            groups = data.getlist("groups") if hasattr(data, "getlist") else data.get("groups")
            issued_on = _date(data.get("issued_on"), "issued_on")
            if issued_on is None:
                raise InvalidInput(_("Give the issue date."), field="issued_on")
            notice = services.register_offline(
                by=request.user,
                region=region,
                period=period,
                issued_on=issued_on,
                groups=groups,
                document=request.FILES.get("document"),
                title=_text(data.get("title"), "title") or "",
            )
        else:
            notice = services.draft_notice(by=request.user, region=region, period=period)
        return Response(self.get_serializer(notice).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        notice = self.get_object()
        data = _body(request)
        notice = services.update_draft(
            by=request.user,
            notice=notice,
            title=_text(data.get("title"), "title"),
            covering_text=_text(data.get("covering_text"), "covering_text"),
        )
        return Response(self.get_serializer(notice).data)

    @extend_schema(
        request=IssueSerializer,
        description="Issue a draft: it gets its document number (文号) and goes to every recipient. "
        "A draft with an empty body answers 400 on `covering_text` unless "
        "`confirm_empty_body` is true.",
    )
    @action(detail=True, methods=["post"])
    def issue(self, request, pk=None):
        data = request.data if isinstance(request.data, dict) else {}
        notice = services.issue_notice(
            by=request.user, notice=self.get_object(), confirm_empty_body=_truthy(data.get("confirm_empty_body", False))
        )
        return Response(self.get_serializer(notice).data)

    @extend_schema(
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        description="The notice as a PDF laid out as an official document: red header with the issuing "
        "office, document number, title, addressees, body, tables, signature and date.",
    )
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        notice = self.get_object()
        response = HttpResponse(notice_pdf(notice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="notice-{notice.region.code}-{notice.period}.pdf"'
        return response

    @action(detail=True, methods=["post"])
    def correct(self, request, pk=None):
        draft = services.correct_notice(by=request.user, notice=self.get_object())
        return Response(self.get_serializer(draft).data, status=status.HTTP_201_CREATED)
