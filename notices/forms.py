"""Forms of the notice pages. They only collect input; ``notices.services`` validates and writes."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.input_rules import TextRulesForm

from .document import number_prefix, office_name
from .models import Frequency, RecipientGroup


class ScheduleForm(forms.Form):
    frequency = forms.ChoiceField(label=_("Frequency"), choices=Frequency.choices, initial=Frequency.MONTHLY)
    start_date = forms.DateField(
        label=_("Start date"),
        required=False,
        # An <input type="date"> only takes ISO dates: render the value that way, whatever the locale.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("When the notice system took effect; leave blank if it is already in force."),
    )
    office_name = forms.CharField(
        label=_("Issuing office"),
        max_length=100,
        required=False,
        help_text=_("As the red header of the notice names it; leave blank for the default."),
    )
    number_prefix = forms.CharField(
        label=_("Document number abbreviation"),
        max_length=20,
        required=False,
        help_text=_("The start of the document number, e.g. 罗服办 in 罗服办〔2026〕4号; leave blank for the default."),
    )

    def __init__(self, *args, region=None, **kwargs):
        super().__init__(*args, **kwargs)
        if region is not None:
            self.fields["office_name"].widget.attrs["placeholder"] = office_name(region)
            self.fields["number_prefix"].widget.attrs["placeholder"] = number_prefix(region)


class RecipientForm(TextRulesForm, forms.Form):
    group = forms.ChoiceField(label=_("Recipient group"), choices=[("", "—"), *RecipientGroup.choices], required=False)
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    email = forms.EmailField(label=_("Email"), required=False)

    def as_row(self) -> dict | None:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        if not any(data.get(k) for k in ("group", "name", "email")):
            return None
        return {"group": data.get("group") or "", "name": data.get("name") or "", "email": data.get("email") or ""}


RecipientFormSet = forms.formset_factory(RecipientForm, extra=2, max_num=60)


class DraftForm(TextRulesForm, forms.Form):
    period = forms.CharField(
        label=_("Period"), max_length=7, help_text=_("A month as 2026-03 or a quarter as 2026-Q1.")
    )


class CoveringTextForm(TextRulesForm, forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    covering_text = forms.CharField(
        label=_("Body"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_(
            "Drafted from the figures; edit it freely until the notice is issued. "
            "Separate paragraphs with an empty line."
        ),
    )


class OfflineForm(TextRulesForm, forms.Form):
    region = forms.ChoiceField(label=_("Region"))
    period = forms.CharField(
        label=_("Period"), max_length=7, help_text=_("A month as 2026-03 or a quarter as 2026-Q1.")
    )
    issued_on = forms.DateField(
        label=_("Issue date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    groups = forms.MultipleChoiceField(
        label=_("Recipient groups"),
        choices=RecipientGroup.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    document = forms.FileField(label=_("Scan (PDF or image)"))

    def __init__(self, *args, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(r.code, str(r)) for r in regions]
