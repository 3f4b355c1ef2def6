"""The user's inbox over the API: GET /api/v1/notifications/?unread=true, POST …/{id}/read/."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from cases.auth import ProfileTokenAuthentication
from cases.input_rules import parse_id

from . import services
from .models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    case = serializers.IntegerField(source="case_id", allow_null=True, read_only=True)
    case_number = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "case", "case_number", "message", "created_at", "read_at"]
        read_only_fields = fields

    def get_case_number(self, notification) -> str | None:
        return notification.case.number if notification.case_id else None


class _Error(serializers.Serializer):
    detail = serializers.CharField()


@extend_schema_view(
    list=extend_schema(
        summary="My inbox",
        parameters=[OpenApiParameter("unread", bool, description="true: only messages not yet read")],
        responses={200: NotificationSerializer(many=True), 401: OpenApiResponse(_Error)},
    ),
)
class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    authentication_classes = [ProfileTokenAuthentication, SessionAuthentication]
    serializer_class = NotificationSerializer
    pagination_class = None
    queryset = Notification.objects.none()
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        inbox = Notification.objects.filter(user=self.request.user).select_related("case")
        unread = (self.request.query_params.get("unread") or "").strip().lower()
        if unread in ("true", "1", "yes"):
            inbox = inbox.filter(read_at__isnull=True)
        elif unread in ("false", "0", "no"):
            inbox = inbox.filter(read_at__isnull=False)
        elif unread:
            raise ValidationError({"unread": [_("Give true or false.")]})
        return inbox.order_by("-created_at", "-id")

    @extend_schema(
        summary="Mark a message read",
        request=None,
        responses={200: NotificationSerializer, 401: OpenApiResponse(_Error), 404: OpenApiResponse(_Error)},
    )
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        number = parse_id(pk)
        if number is None:
            raise Http404
        notification = Notification.objects.filter(user=request.user, pk=number).select_related("case").first()
        if notification is None:
            raise Http404
        return Response(NotificationSerializer(services.mark_read(notification)).data)
