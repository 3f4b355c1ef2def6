from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.forms import MultipleFileField
from cases.input_rules import TextRulesForm


class EntryForm(TextRulesForm, forms.Form):
    """Points and note; the figures of items 19 and 21; supporting files. Validation is the service's."""

    points = forms.CharField(label=_("Points"), required=False, max_length=10)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    reports = forms.CharField(label=_("Reports submitted"), required=False, max_length=10)
    rate = forms.CharField(label=_("Satisfaction rate (e.g. 93.5%)"), required=False, max_length=20)
    participating = forms.CharField(label=_("Participating enterprises"), required=False, max_length=10)
    above_scale = forms.CharField(label=_("Enterprises above designated size"), required=False, max_length=10)
    # The form's metaclass moves declared fields into ``base_fields``, so this never shadows
    # ``BaseForm.files`` (the uploaded files) on an instance; "files" is the POST key the page sends.
    files = MultipleFileField(label=_("Supporting files"), required=False)  # type: ignore[assignment]
