"""Forms of the web UI. They only read and check input; the change itself is a service call."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import credit_code, services
from .access import departments_for_user, regions_for_user, routable_departments
from .idempotency import new_form_token
from .input_rules import TextRulesForm, receipt_problem
from .models import Case, Category, Channel, Enterprise, Region
from .roles import Role, role_of
from .routing_suggestions import suggest_for_case

LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field taking several files at once (the pattern from Django's documentation)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single_file_clean = super().clean
        if isinstance(data, list | tuple):
            files = [single_file_clean(item, initial) for item in data if item]
            if self.required and not files:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return files
        cleaned = single_file_clean(data, initial)
        return [cleaned] if cleaned else []


def _evidence_field(required: bool = True) -> MultipleFileField:
    return MultipleFileField(
        label=_("Evidence files"),
        required=required,
        help_text=_("PDF, images or office documents; several files may be chosen at once."),
        error_messages={"required": _("Attach at least one evidence file.")},
    )


class ServiceErrorsMixin(TextRulesForm):
    """Puts a service's refusal (cases.errors.CaseError) on the field it names, or on the form.

    Its text fields refuse control characters (cases.input_rules), as the API and import do."""

    field_aliases: dict[str, str] = {}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")  # labels stand on their own line; no colon
        super().__init__(*args, **kwargs)

    def add_service_error(self, error) -> None:
        field = self.field_aliases.get(error.field, error.field)
        if field in self.fields:
            self.add_error(field, error.message)
        else:
            self.add_error(None, error.message)


class IntakeForm(ServiceErrorsMixin, forms.Form):
    """Logging a new enterprise problem (受理登记)."""

    field_aliases = {"credit_code_value": "credit_code"}

    region = forms.ModelChoiceField(label=_("Region"), queryset=Region.objects.none(), empty_label=None)
    enterprise_name = forms.CharField(label=_("Enterprise name"), max_length=200)
    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        max_length=18,
        min_length=18,
        help_text=_("18 characters, as printed on the business licence."),
    )
    enterprise_size = forms.ChoiceField(
        label=_("Size class"), choices=Enterprise.Size.choices, initial=Enterprise.Size.OTHER
    )
    contact_name = forms.CharField(label=_("Contact person"), max_length=50, required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=30, required=False)
    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.all())
    channel = forms.ModelChoiceField(label=_("Channel"), queryset=Channel.objects.all())
    description = forms.CharField(
        label=_("Problem description"), widget=forms.Textarea(attrs={"rows": 5}), max_length=5000
    )
    received_at = forms.DateTimeField(
        label=_("Received at"),
        input_formats=[LOCAL_INPUT_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT_FORMAT),
        help_text=_("Local time (Beijing). Not in the future."),
    )

    department = forms.ModelChoiceField(
        label=_("Route at once to"),
        queryset=None,
        required=False,
        empty_label=_("Not yet (route later)"),
        help_text=_(
            "Optional: the case is logged and routed in one step. The suggestion comes from the region's own history."
        ),
    )

    # A one-time token (cases.idempotency): a double-clicked or resent form logs one case.
    submission = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, user, now=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()
        self.user = user
        self.fields["submission"].initial = new_form_token()
        regions = regions_for_user(user)
        if role_of(user) != Role.CITY_OFFICE:
            regions = regions.filter(level=Region.Level.COUNTY)
        self.fields["region"].queryset = regions
        self.fields["department"].queryset = (
            departments_for_user(user).filter(active=True).order_by("region__level", "region__code", "name")
        )
        if regions.count() == 1:
            # A county office logs cases for its own region only: shown, not chosen.
            self.fields["region"].initial = regions.first()
            self.fields["region"].disabled = True
        self.fields["received_at"].initial = timezone.localtime(self.now).replace(second=0, microsecond=0)

    def clean_credit_code(self) -> str:
        code = credit_code.normalize(self.cleaned_data["credit_code"])
        problem = credit_code.problem(code)
        if problem:
            raise forms.ValidationError(problem)
        return code

    def clean_received_at(self):
        received_at = self.cleaned_data["received_at"]
        problem = receipt_problem(received_at, now=self.now)
        if problem:
            raise forms.ValidationError(problem)
        return received_at


class AssignForm(ServiceErrorsMixin, forms.Form):
    department = forms.ModelChoiceField(label=_("Responsible department"), queryset=None)
    complex = forms.BooleanField(
        label=_("Complex problem (longer deadline)"),
        required=False,
    )

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = routable_departments(case)
        if case.department_id:
            self.fields["department"].initial = case.department_id
        self.fields["complex"].initial = case.complex
        # Shown (and the first preselected) on the page; a submitted form does not need them. The
        # form is an office's, which sees every case of the region the suggestions come from.
        self.suggestions = [] if self.is_bound else suggest_for_case(case, now=timezone.now())
        if self.suggestions:
            self.fields["department"].initial = self.suggestions[0].department.pk

    def preselect(self, department_id) -> bool:
        """Choose this department in advance (``?department=`` on the case page, as the dashboard's
        退单 queue links it); ignored unless the case may be routed there."""
        try:
            pk = int(department_id)
        except (TypeError, ValueError):
            return False
        if not 0 < pk < 2**63 or not self.fields["department"].queryset.filter(pk=pk).exists():
            return False
        self.fields["department"].initial = pk
        return True


class ReasonForm(ServiceErrorsMixin, forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class ReturnForm(ReasonForm):
    suggested_department = forms.CharField(
        label=_("Department it should go to (if known)"), max_length=100, required=False
    )


class ResolveForm(ServiceErrorsMixin, forms.Form):
    result = forms.CharField(label=_("Result"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)
    evidence = _evidence_field()


class ExplainForm(ServiceErrorsMixin, forms.Form):
    result = forms.CharField(label=_("Explanation reply"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)
    policy_basis = forms.CharField(label=_("Policy basis"), widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)
    redirect_to = forms.CharField(
        label=_("Where the enterprise can turn instead"), widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )
    evidence = _evidence_field()


class EvidenceForm(ServiceErrorsMixin, forms.Form):
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, required=False)
    evidence = _evidence_field()


class FollowUpForm(ServiceErrorsMixin, forms.Form):
    satisfaction = forms.ChoiceField(
        label=_("Satisfaction"), choices=Case.Satisfaction.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, required=False)


class EmptyForm(ServiceErrorsMixin, forms.Form):
    """Actions that take no input, such as acknowledging (签收)."""


# -- deadline extensions (延期): the card in cases/_extension_actions.html ------------------------


class RequestExtensionForm(TextRulesForm, forms.Form):
    days = forms.IntegerField(label=_("Working days asked"), min_value=1)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)

    def clean_days(self):
        days = self.cleaned_data["days"]
        limit = services.extension_max_days()
        if days > limit:
            raise forms.ValidationError(gettext("An extension is between 1 and %(n)d working days.") % {"n": limit})
        return days


class DecisionForm(TextRulesForm, forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
