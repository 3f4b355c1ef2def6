"""What the REST API reads and writes for departments, cases and their ledger (SPEC §8)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.settings import api_settings

from . import credit_code
from .access import departments_for_user
from .importing.reader import upload_size_problem
from .input_rules import MAX_ID, TextRulesSerializer, text_problem
from .models import Case, Category, Channel, Department, Enterprise, Region, State, local_date, state_label
from .services import available_actions
from .similar import similar_for_cases

SIZE_NAMES = {
    "规模以上": "above_scale",
    "双百": "double_100",
    "双30": "double_30",
    "小微": "small_micro",
    "其他": "other",
}
SATISFACTION_NAMES = {"满意": "satisfied", "基本满意": "basically_satisfied", "不满意": "dissatisfied"}


@extend_schema_field({"type": "string", "description": "code, or the Chinese name"})
class CodeOrNameField(serializers.Field):
    """A region, category or channel given by its code or its Chinese name (SPEC §8)."""

    default_error_messages = {"unknown": _("Unknown code or name “{value}”."), "invalid": _("Give a code or a name.")}

    def __init__(self, model, **kwargs):
        self.model = model
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str | int) or isinstance(data, bool) or not str(data).strip():
            self.fail("invalid")
        problem = text_problem(str(data))
        if problem:
            raise serializers.ValidationError(problem)
        value = str(data).strip()[:100]
        found = self.model.objects.filter(Q(code=value) | Q(name=value)).first()
        if found is None:
            self.fail("unknown", value=value)
        return found

    def to_representation(self, value):
        return value.code


class LenientChoiceField(serializers.ChoiceField):
    """A choice given by its value or its Chinese name."""

    def __init__(self, *, names: dict[str, str], **kwargs):
        self.names = names
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and data.strip() in self.names:
            data = self.names[data.strip()]
        return super().to_internal_value(data)


_SKIP = object()


class QuickRepresentation:
    """Serializer mixin: the dict DRF's ``Serializer.to_representation`` makes of an instance — the
    same dict (tests/api/test_quick_representation.py compares them on cases of every kind) — with
    how each field reads and writes its value decided once per serializer instead of per value.

    DRF asks for each of a case's 38 fields, on each of a page's 100 rows, whether the value is a
    callable (inspecting a signature when it is), catches its exceptions, looks up the output
    format, the time zone and the choices again: 60% of the API list's CPU at 100 cases a page.
    Here an attribute path is read with ``getattr``; integers, text, booleans, ISO dates and
    times, choices and method fields are written as DRF writes them; a value or a field of any
    other kind (a callable, a missing attribute, another field class) goes DRF's own way."""

    def to_representation(self, instance):
        plan = self.__dict__.get("_quick_plan")
        if plan is None:
            plan = self._quick_plan = [self._quick_field(field) for field in self._readable_fields]
        ret = {}
        for name, read, write in plan:
            value = read(instance)
            if value is _SKIP:
                continue
            ret[name] = None if value is None else write(value)
        return ret

    def _quick_field(self, field):
        if isinstance(field, serializers.SerializerMethodField):
            return field.field_name, _itself, getattr(self, field.method_name)
        if field.source == "*" or isinstance(field, serializers.BaseSerializer):
            return field.field_name, _generic_read(field), field.to_representation
        return field.field_name, _path_read(field), _writer(field)


def _itself(instance):
    return instance


def _generic_read(field):
    def read(instance):
        try:
            return field.get_attribute(instance)
        except SkipField:
            return _SKIP

    return read


def _path_read(field):
    attrs, generic = tuple(field.source_attrs), _generic_read(field)

    def read(instance):
        value = instance
        try:
            for attr in attrs:
                value = getattr(value, attr)
        except (AttributeError, ObjectDoesNotExist):
            return generic(instance)  # DRF's answer: a default, None, skipped, or the error
        return generic(instance) if callable(value) else value

    return read


def _writer(field):
    kind = type(field)
    if kind is serializers.IntegerField:
        return int
    if kind is serializers.CharField:
        return str
    if kind is serializers.BooleanField:
        return lambda value: value if value is True or value is False else field.to_representation(value)
    if kind is serializers.ChoiceField:
        choices = field.choice_strings_to_values
        return lambda value: value if value == "" else choices.get(str(value), value)
    iso = getattr(field, "format", None) is None
    if kind is serializers.DateField and iso and api_settings.DATE_FORMAT.lower() == "iso-8601":
        return lambda value: value.isoformat() if type(value) is dt.date else field.to_representation(value)
    if (
        kind is serializers.DateTimeField
        and iso
        and not hasattr(field, "timezone")
        and api_settings.DATETIME_FORMAT.lower() == "iso-8601"
    ):
        return _moment_writer(field)
    return field.to_representation


def _moment_writer(field):
    """DRF's DateTimeField for an aware datetime: in the current time zone, ISO 8601, UTC as "Z"."""

    def write(value):
        if type(value) is not dt.datetime or value.utcoffset() is None:
            return field.to_representation(value)
        try:
            text = value.astimezone(timezone.get_current_timezone()).isoformat()
        except OverflowError:
            return field.to_representation(value)  # DRF's own "overflow" error
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return write


class DepartmentSerializer(TextRulesSerializer, serializers.ModelSerializer):
    region = CodeOrNameField(Region)
    region_name = serializers.CharField(source="region.name", read_only=True)

    class Meta:
        model = Department
        fields = ["id", "name", "region", "region_name", "active"]
        read_only_fields = ["id", "active"]
        # Uniqueness is checked by cases.departments.create_department, with a clearer message.
        validators = []


class EnterpriseSerializer(QuickRepresentation, TextRulesSerializer, serializers.Serializer):
    name = serializers.CharField(max_length=200)
    credit_code = serializers.CharField(max_length=40, help_text=_("Unified social credit code (GB 32100-2015)"))
    # Left out: an enterprise on record keeps its size class; a new one is "other".
    size = LenientChoiceField(choices=Enterprise.Size.choices, names=SIZE_NAMES, required=False)

    def validate_credit_code(self, value):
        value = credit_code.normalize(value)
        problem = credit_code.problem(value)
        if problem:
            raise serializers.ValidationError(str(problem))
        return value


class SimilarCaseSerializer(QuickRepresentation, serializers.Serializer):
    """One of the enterprise's recent cases with close text (cases/similar.py)."""

    number = serializers.CharField()
    state = serializers.ChoiceField(choices=State.choices)
    received_at = serializers.DateTimeField()


class CaseListSerializer(serializers.ListSerializer):
    """Many cases: their similar cases are found in one query for the whole page."""

    def to_representation(self, data):
        cases = list(data.all() if hasattr(data, "all") else data)
        request = self.context.get("request")
        self.context["similar"] = similar_for_cases(request.user if request else None, cases)
        return super().to_representation(cases)


class CaseSerializer(QuickRepresentation, serializers.ModelSerializer):
    """A case as the API shows it."""

    region = serializers.CharField(source="region.code", read_only=True)
    region_name = serializers.CharField(source="region.name", read_only=True)
    category = serializers.CharField(source="category.code", read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True)
    channel = serializers.CharField(source="channel.code", read_only=True)
    channel_name = serializers.CharField(source="channel.name", read_only=True)
    department = serializers.IntegerField(source="department_id", read_only=True, allow_null=True)
    department_name = serializers.SerializerMethodField()
    enterprise = EnterpriseSerializer(read_only=True)
    state = serializers.ChoiceField(choices=State.choices, read_only=True)
    state_name = serializers.SerializerMethodField()
    satisfaction = serializers.SerializerMethodField()
    on_time = serializers.BooleanField(read_only=True, allow_null=True)
    overdue = serializers.SerializerMethodField()
    available_actions = serializers.SerializerMethodField()
    similar = serializers.SerializerMethodField()

    class Meta:
        model = Case
        list_serializer_class = CaseListSerializer
        fields = [
            "id",
            "number",
            "ref",
            "region",
            "region_name",
            "state",
            "state_name",
            "category",
            "category_name",
            "channel",
            "channel_name",
            "department",
            "department_name",
            "enterprise",
            "description",
            "contact_name",
            "contact_phone",
            "received_at",
            "assigned_at",
            "acknowledged_at",
            "due_date",
            "due_date_provisional",
            "extension_days",
            "complex",
            "supervised",
            "result",
            "policy_basis",
            "redirect_to",
            "closed_at",
            "reopen_count",
            "on_time",
            "overdue",
            "satisfaction",
            "available_actions",
            "similar",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_department_name(self, case) -> str | None:
        return case.department.name if case.department_id else None

    def get_state_name(self, case) -> str:
        return state_label(case.state)  # get_state_display's text, without its choices dict per call

    @extend_schema_field(serializers.ChoiceField(choices=Case.Satisfaction.choices, allow_null=True))
    def get_satisfaction(self, case):
        return case.satisfaction or None

    def get_overdue(self, case) -> bool:
        return case.is_overdue(self._today())

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_available_actions(self, case) -> list[str]:
        request = self.context.get("request")
        return available_actions(case, request.user, today=self._today()) if request else []

    @extend_schema_field(SimilarCaseSerializer(many=True))
    def get_similar(self, case) -> list:
        found = self.context.get("similar")
        if found is None or case.pk not in found:
            request = self.context.get("request")
            found = similar_for_cases(request.user if request else None, [case])
        if "_similar" not in self.__dict__:
            self._similar = SimilarCaseSerializer(context=self.context)  # one for every row's list
        return [self._similar.to_representation(similar) for similar in found[case.pk]]

    def _today(self):
        if "today" not in self.context:
            self.context["today"] = local_date(timezone.now())
        return self.context["today"]


class CaseCreateSerializer(TextRulesSerializer, serializers.Serializer):
    """POST /cases/: regions, categories and channels by code or Chinese name."""

    region = CodeOrNameField(Region)
    enterprise = EnterpriseSerializer()
    category = CodeOrNameField(Category)
    channel = CodeOrNameField(Channel)
    description = serializers.CharField(max_length=5000)
    contact_name = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    contact_phone = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    received_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text=_("Default: now. Not in the future.")
    )
    ref = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        allow_null=True,
        default=None,
        help_text=_("External reference, unique per region (e.g. the province platform's number)."),
    )


class LedgerEntrySerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    action = serializers.CharField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    actor = serializers.CharField(source="actor_name")
    occurred_at = serializers.DateTimeField()
    recorded_at = serializers.DateTimeField()
    source = serializers.CharField()
    due_date = serializers.DateField(allow_null=True)
    payload = serializers.JSONField()
    prev_hash = serializers.CharField()
    hash = serializers.CharField()


# -- transition bodies -----------------------------------------------------------------------


class AssignSerializer(serializers.Serializer):
    department = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text=_("Department id"))
    complex = serializers.BooleanField(
        required=False,
        default=None,
        allow_null=True,
        help_text=_("Complex problem: the longer deadline of its category applies."),
    )

    def validate_department(self, value: int) -> Department:
        # Only departments this user may see: another county's answer the same as none at all,
        # so ids outside the user's scope cannot be probed.
        request = self.context.get("request")
        departments = departments_for_user(request.user) if request is not None else Department.objects.all()
        department = departments.select_related("region").filter(pk=value).first()
        if department is None:
            raise serializers.ValidationError(gettext("Unknown department."))
        return department


class ReturnSerializer(TextRulesSerializer, serializers.Serializer):
    reason = serializers.CharField(max_length=5000)
    suggested_department = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class ResolveSerializer(TextRulesSerializer, serializers.Serializer):
    result = serializers.CharField(max_length=5000)
    evidence = serializers.ListField(
        child=serializers.FileField(),
        min_length=1,
        max_length=20,
        help_text=_("One or more evidence files (PDF, images, office documents)."),
    )


class ExplainSerializer(ResolveSerializer):
    policy_basis = serializers.CharField(max_length=5000)
    redirect_to = serializers.CharField(
        max_length=5000,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Where the enterprise can turn instead; default: as stated in the reply."),
    )

    def validate_redirect_to(self, value: str) -> str:
        # SPEC §8 does not send redirect_to; the reply itself then says where to turn.
        return value.strip() or gettext("As stated in the reply")


class ReasonSerializer(TextRulesSerializer, serializers.Serializer):
    reason = serializers.CharField(max_length=5000)


class ExtensionRequestSerializer(TextRulesSerializer, serializers.Serializer):
    reason = serializers.CharField(max_length=5000)
    days = serializers.IntegerField(min_value=1, max_value=250, help_text=_("Working days asked for"))


class ExtensionDecisionSerializer(TextRulesSerializer, serializers.Serializer):
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class FollowUpSerializer(TextRulesSerializer, serializers.Serializer):
    satisfaction = LenientChoiceField(choices=Case.Satisfaction.choices, names=SATISFACTION_NAMES)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


# -- import ----------------------------------------------------------------------------------


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=_("The ledger: .xlsx or .csv (UTF-8 or GB18030)."))
    dry_run = serializers.BooleanField(required=False, default=False)

    def validate_file(self, upload):
        problem = upload_size_problem(upload.size)
        if problem:
            raise serializers.ValidationError(problem)
        return upload


class ImportErrorSerializer(serializers.Serializer):
    sheet = serializers.CharField(
        allow_null=True, help_text=_("The worksheet's name in a workbook; null for a CSV file.")
    )
    row = serializers.IntegerField(allow_null=True, help_text=_("Row number as Excel shows it (the header is row 1)."))
    column = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class ImportSkippedSerializer(serializers.Serializer):
    sheet = serializers.CharField(
        allow_null=True, help_text=_("The worksheet's name in a workbook; null for a CSV file.")
    )
    row = serializers.IntegerField(
        allow_null=True, help_text=_("Row number as Excel shows it; null for a whole sheet.")
    )
    text = serializers.CharField(allow_blank=True, help_text=_("What the row says (a total, a note, a signature)."))
    reason = serializers.CharField()


class CreatedDepartmentSerializer(serializers.Serializer):
    region = serializers.CharField()
    name = serializers.CharField()


class ImportSummarySerializer(serializers.Serializer):
    created = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    departments_created = CreatedDepartmentSerializer(many=True)
    errors = ImportErrorSerializer(many=True)
    dry_run = serializers.BooleanField()
    rows = serializers.IntegerField()
    error_count = serializers.IntegerField()
    skipped = ImportSkippedSerializer(
        many=True,
        help_text=_(
            "Rows and sheets passed over: totals, notes, signature lines, sheets without a header (the first 1,000)."
        ),
    )
    skipped_count = serializers.IntegerField()


# -- error shapes (for the schema) -----------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
