"""What the REST API reads and writes for departments, cases and their ledger (SPEC §8)."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from . import credit_code
from .access import departments_for_user
from .importing.reader import upload_size_problem
from .input_rules import MAX_ID, TextRulesSerializer, text_problem
from .models import Case, Category, Channel, Department, Enterprise, Region, State, local_date
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


class DepartmentSerializer(TextRulesSerializer, serializers.ModelSerializer):
    region = CodeOrNameField(Region)
    region_name = serializers.CharField(source="region.name", read_only=True)

    class Meta:
        model = Department
        fields = ["id", "name", "region", "region_name", "active"]
        read_only_fields = ["id", "active"]
        # Uniqueness is checked by cases.departments.create_department, with a clearer message.
        validators = []


class EnterpriseSerializer(TextRulesSerializer, serializers.Serializer):
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


class SimilarCaseSerializer(serializers.Serializer):
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


class CaseSerializer(serializers.ModelSerializer):
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
    state_name = serializers.CharField(source="get_state_display", read_only=True)
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

    @extend_schema_field(serializers.ChoiceField(choices=Case.Satisfaction.choices, allow_null=True))
    def get_satisfaction(self, case):
        return case.satisfaction or None

    def get_overdue(self, case) -> bool:
        return case.is_overdue(self._today())

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_available_actions(self, case) -> list[str]:
        request = self.context.get("request")
        return available_actions(case, request.user) if request else []

    @extend_schema_field(SimilarCaseSerializer(many=True))
    def get_similar(self, case) -> list:
        found = self.context.get("similar")
        if found is None or case.pk not in found:
            request = self.context.get("request")
            found = similar_for_cases(request.user if request else None, [case])
        return SimilarCaseSerializer(found[case.pk], many=True).data

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
