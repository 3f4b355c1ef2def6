"""REST API for departments, cases, their ledger and every transition (SPEC §8).

Each endpoint starts from the scoped fetchers (outside scope → 404) and changes a case only
through ``cases.services`` with ``source="api"``. Before reading the body, a transition checks
that this user's role may take it at all, so a wrong role gets 403 whatever it sent.
"""

from __future__ import annotations

import tempfile
from pathlib import PurePath

from django import forms
from django.conf import settings
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action as drf_action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from ledger.models import Source
from ledger.services import entries_for

from . import actions, idempotency, serializers, services
from .access import departments_for_user, get_case_for_user, regions_for_user
from .auth import ProfileTokenAuthentication
from .departments import create_department
from .errors import NotAllowed, NotFound
from .filters import BoundedDateFilter
from .importing import check_importer, run_import
from .input_rules import MAX_ID, parse_id
from .models import Case, Department, Region, State, local_date
from .paginators import CappedPaginator
from .roles import is_office
from .search.query import scope_department, scope_region, search
from .serializers import (
    CaseCreateSerializer,
    CaseSerializer,
    DepartmentSerializer,
    ErrorSerializer,
    ImportRequestSerializer,
    ImportSummarySerializer,
    LedgerEntrySerializer,
)

API = Source.API

_ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Bad input: {field: [message]} or {detail: message}"),
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated"),
    403: OpenApiResponse(ErrorSerializer, description="This user's role may not do this"),
    404: OpenApiResponse(ErrorSerializer, description="No such object, or outside this user's scope"),
    409: OpenApiResponse(ErrorSerializer, description="Not possible in the case's current state, or lost a race"),
}


def errors(*codes: int) -> dict:
    return {code: _ERRORS[code] for code in (401, *codes)}


class ApiAuth:
    # Token first, so an unauthenticated call is told 401 with "WWW-Authenticate: Token".
    authentication_classes = [ProfileTokenAuthentication, SessionAuthentication]


def _require_office_role(user) -> None:
    if not is_office(user):
        raise NotAllowed(_("Only a county office or the city office may do this."))


def scoped_case(user, pk) -> Case:
    """The case if this user may see it; 404 for anything else, including ids out of range."""
    number = parse_id(pk)
    if number is None:
        raise Http404
    return get_case_for_user(user, number)


# -- departments -----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Departments this user may see",
        parameters=[OpenApiParameter("region", str, description="Region code (or Chinese name)")],
        responses={200: DepartmentSerializer(many=True), **errors()},
    ),
    create=extend_schema(
        summary="Add a department to a region",
        request=DepartmentSerializer,
        responses={201: DepartmentSerializer, **errors(400, 403, 404)},
    ),
)
class DepartmentViewSet(ApiAuth, mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = DepartmentSerializer
    pagination_class = None
    queryset = Department.objects.none()

    def get_queryset(self):
        departments = departments_for_user(self.request.user).order_by("region__code", "name")
        region = (self.request.query_params.get("region") or "").strip()
        if region:
            departments = departments.filter(Q(region__code=region) | Q(region__name=region))
        return departments

    def create(self, request, *args, **kwargs):
        _require_office_role(request.user)
        body = DepartmentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        department = create_department(
            by=request.user, region=body.validated_data["region"], name=body.validated_data["name"]
        )
        return Response(DepartmentSerializer(department).data, status=status.HTTP_201_CREATED)


# -- cases -----------------------------------------------------------------------------------


class IntegerFilter(filters.NumberFilter):
    field_class = forms.IntegerField


class CaseFilter(filters.FilterSet):
    region = filters.CharFilter(method="filter_region", help_text="Region code (or Chinese name)")
    state = filters.ChoiceFilter(choices=State.choices)
    department = IntegerFilter(field_name="department_id", min_value=1, max_value=MAX_ID, help_text="Department id")
    # true/false only: a boolean filter would read "null" or "maybe" as "no filter".
    overdue = filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="filter_overdue",
        help_text="true: open and past the due date today",
    )
    received_from = BoundedDateFilter(method="filter_received_from", help_text="Received on or after this day (local)")
    received_to = BoundedDateFilter(method="filter_received_to", help_text="Received on or before this day (local)")
    ref = filters.CharFilter(field_name="ref", help_text="External reference")
    number = filters.CharFilter(field_name="number")
    q = filters.CharFilter(
        method="filter_q",
        help_text=(
            "Chinese full-text search over the case number, enterprise name, credit code, description, result and "
            "explanation (segmented with jieba); the cases holding every word (the first 12), best first. A full "
            "case number or credit code selects that case or that enterprise's cases."
        ),
    )

    class Meta:
        model = Case
        fields = ["region", "state", "department", "overdue", "received_from", "received_to", "ref", "number", "q"]

    def filter_region(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(region__code=value) | Q(region__name=value)) if value else queryset

    def filter_overdue(self, queryset, name, value):
        if not value:
            return queryset
        today = local_date(timezone.now())
        return queryset.overdue(today) if value == "true" else queryset.not_overdue(today)

    def filter_received_from(self, queryset, name, value):
        return queryset.received_from(value)

    def filter_received_to(self, queryset, name, value):
        return queryset.received_to(value)

    def filter_q(self, queryset, name, value):
        user = self.request.user
        return search(queryset, value, region_id=scope_region(user), department_id=scope_department(user))


class CasePagination(PageNumberPagination):
    """Pages of 50 (up to 500). ``count`` is exact up to 10,000 cases; past that it is 10,001
    with ``count_capped`` true, and ``next`` leads on page by page (cases.paginators): no list
    call counts a million rows."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    django_paginator_class = CappedPaginator

    def get_page_number(self, request, paginator):
        page_number = request.query_params.get(self.page_query_param) or 1
        if page_number in self.last_page_strings and paginator.count_capped:
            raise NotFound(
                _("More than %(cap)d cases match: narrow the filters to reach the last page.") % {"cap": paginator.cap}
            )
        return super().get_page_number(request, paginator)

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["count_capped"] = self.page.paginator.count_capped
        return response

    def get_paginated_response_schema(self, schema):
        described = super().get_paginated_response_schema(schema)
        described["properties"]["count"]["description"] = (
            "Cases matching, exact up to 10,000; 10,001 when more match (count_capped)"
        )
        described["properties"]["count_capped"] = {
            "type": "boolean",
            "description": "More than 10,000 cases match: count is a lower bound; follow next page by page",
        }
        described["required"] = [*described["required"], "count_capped"]
        return described

    def get_page_size(self, request):
        """1 to 500 as asked; anything else is a 400 (DRF would quietly use another size)."""
        text = request.query_params.get(self.page_size_query_param)
        if text in (None, ""):
            return self.page_size
        size = parse_id(text.strip())
        if size is None or size > self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [_("Give a page size from 1 to %(n)d.") % {"n": self.max_page_size}]}
            )
        return size


def _case_response(request, case: Case, code=status.HTTP_200_OK) -> Response:
    return Response(CaseSerializer(case, context={"request": request}).data, status=code)


def transition(summary: str, body=None, *, multipart: bool = False, codes=(400, 403, 404, 409)):
    request = {"multipart/form-data": body} if multipart else body
    return extend_schema(summary=summary, request=request, responses={200: CaseSerializer, **errors(*codes)})


@extend_schema_view(
    list=extend_schema(
        summary="Cases this user may see", responses={200: CaseSerializer(many=True), **errors(400, 404)}
    ),
    retrieve=extend_schema(summary="One case", responses={200: CaseSerializer, **errors(404)}),
    create=extend_schema(
        summary="Log a new case (受理)",
        description=(
            "Send an `Idempotency-Key` header to make retries safe: the first request with a key creates the "
            "case (201); a retry with the same key and the same body answers with that case (200), even when "
            "the first answer was lost; the same key with another body is refused (409). Keys are per user "
            "and kept for 24 hours."
        ),
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": idempotency.KEY_MAX_LENGTH,
                    "pattern": idempotency.KEY_PATTERN,
                },
                location=OpenApiParameter.HEADER,
                required=False,
                description="A key the client makes for this one case (e.g. a UUID); reused on retries.",
            )
        ],
        # JSON only: the enterprise is a nested object, which a form cannot carry.
        request={"application/json": CaseCreateSerializer},
        responses={
            201: CaseSerializer,
            200: OpenApiResponse(CaseSerializer, description="A retry: the case this key created before"),
            **errors(400, 403, 404),
            409: OpenApiResponse(ErrorSerializer, description="The Idempotency-Key was used for another body"),
        },
    ),
)
class CaseViewSet(
    ApiAuth, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = CaseSerializer
    pagination_class = CasePagination
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = CaseFilter
    queryset = Case.objects.none()
    # Any id reaches the view (and gets a JSON 404), not Django's HTML 404 for "1.5" or "abc".
    lookup_value_regex = "[^/]+"
    # JSON, form and multipart: REST_FRAMEWORK's DEFAULT_PARSER_CLASSES (size and nesting limits).

    def get_queryset(self):
        return (
            Case.objects.for_user(self.request.user)
            .select_related("region", "enterprise", "category", "channel", "department")
            .with_pending_extension()
            .order_by("-received_at", "-id")
        )

    def get_object(self) -> Case:
        return scoped_case(self.request.user, self.kwargs["pk"])

    def create(self, request, *args, **kwargs):
        user = request.user
        _require_office_role(user)
        key = idempotency.clean_key(request.headers.get("Idempotency-Key"))
        request_hash = idempotency.fingerprint(request.data) if key else ""
        if key:
            # A retry is answered before its body is read again: the stored case, or 409.
            stored = idempotency.stored_case(by=user, key=key, request_hash=request_hash)
            if stored is not None:
                return self._created(request, stored, status.HTTP_200_OK)
        body = CaseCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        region: Region = data["region"]
        if not regions_for_user(user).filter(pk=region.pk).exists():
            raise NotFound(_("No such region."))
        enterprise = data["enterprise"]

        def create() -> Case:
            return services.create_case(
                by=user,
                region=region,
                enterprise_name=enterprise["name"],
                credit_code_value=enterprise["credit_code"],
                enterprise_size=enterprise.get("size"),
                category=data["category"],
                channel=data["channel"],
                description=data["description"],
                contact_name=data["contact_name"],
                contact_phone=data["contact_phone"],
                received_at=data["received_at"],
                ref=data["ref"],
                source=API,
            )

        if not key:
            return self._created(request, create(), status.HTTP_201_CREATED)
        case, created = idempotency.create_once(
            by=user, key=key, request_hash=request_hash, create=create, now=timezone.now()
        )
        return self._created(request, case, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def _created(self, request, case: Case, code) -> Response:
        response = _case_response(request, scoped_case(request.user, case.pk), code)
        response["Location"] = request.build_absolute_uri(f"{case.pk}/")
        return response

    # -- the ledger ------------------------------------------------------------------------

    @extend_schema(
        summary="The case's ledger entries (hash chain)",
        responses={200: LedgerEntrySerializer(many=True), **errors(404)},
    )
    @drf_action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def ledger(self, request, pk=None):
        case = self.get_object()
        return Response(LedgerEntrySerializer(entries_for(case), many=True).data)

    # -- transitions: one route per action of cases.actions (added below the class) -------------

    def _act(self, request, action: actions.Action) -> Response:
        """Role first (403 whatever the body says), then the body, then the action's service."""
        case = self.get_object()
        user = request.user
        services.require_actor(user, case, office=action.office)
        data = {}
        if action.body:
            serializer = getattr(serializers, action.body)(data=request.data, context={"request": request})
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        changed = getattr(services, action.service)(case, by=user, source=API, **data)
        return _case_response(request, scoped_case(user, changed.pk))


def _route(action: actions.Action):
    """The API route of one action: POST /api/v1/cases/<pk>/<slug>/, documented from the registry."""

    def route(self, request, pk=None):
        return self._act(request, action)

    route.__name__ = route.__qualname__ = f"{action.name}_case" if action.name == "return" else action.name
    body = getattr(serializers, action.body) if action.body else None
    documented = transition(
        action.summary, body, multipart=action.files, codes=(400, 403, 404, 409) if body else (403, 404, 409)
    )
    return documented(
        drf_action(detail=True, methods=["post"], url_path=action.slug, url_name=action.slug, filter_backends=[])(route)
    )


for _action in actions.on_case():
    if _action.summary:  # an action the API offers
        _handler = _route(_action)
        setattr(CaseViewSet, _handler.__name__, _handler)


# -- import ----------------------------------------------------------------------------------


def save_upload(upload) -> str:
    """Copy an uploaded file to a temporary path (the import reads it twice)."""
    suffix = PurePath(upload.name or "").suffix.lower()[:10]
    with tempfile.NamedTemporaryFile(prefix="ledger-import-", suffix=suffix, delete=False) as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
        return handle.name


@extend_schema_view(
    create=extend_schema(
        summary="Import an existing ledger (XLSX or CSV)",
        request={"multipart/form-data": ImportRequestSerializer},
        responses={
            200: ImportSummarySerializer,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT, description="The file has errors (the summary, nothing written), or bad input"
            ),
            **{code: response for code, response in errors(403).items()},
        },
    )
)
class ImportViewSet(ApiAuth, viewsets.ViewSet):
    parser_classes = [MultiPartParser, FormParser]

    def create(self, request):
        import os

        check_importer(request.user)
        body = ImportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        path = save_upload(body.validated_data["file"])
        try:
            # Synchronous: the budget keeps the answer within the web server's timeout.
            summary = run_import(
                path,
                by=request.user,
                dry_run=body.validated_data["dry_run"],
                time_budget=settings.IMPORT_API_TIME_BUDGET,
            )
        finally:
            os.unlink(path)
        failed = bool(summary["errors"]) and not summary["dry_run"]
        return Response(summary, status=status.HTTP_400_BAD_REQUEST if failed else status.HTTP_200_OK)
