from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.input_rules import TextRulesForm


class ExtensionDecisionForm(TextRulesForm, forms.Form):
    """Approve or reject a pending extension from the dashboard; ``request`` is the request the
    office saw, so a decision never lands on a newer request it did not read."""

    request = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000,
                           widget=forms.TextInput(attrs={"placeholder": _("Note (optional)")}))
