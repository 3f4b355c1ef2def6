from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.input_rules import TextRulesForm


class ExtensionDecisionForm(TextRulesForm, forms.Form):
    """Approve or reject a pending extension from the dashboard; ``request`` is the request the
    office saw, so a decision never lands on a newer request it did not read."""

    request = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.TextInput(attrs={"placeholder": _("Note (optional)")}),
    )


class DepartmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return (
            obj.name if obj.name.startswith(obj.region.name) or obj.region.is_city else f"{obj.region.name} {obj.name}"
        )


class AddDepartmentUserForm(TextRulesForm, forms.Form):
    department = DepartmentChoiceField(label=_("Department"), queryset=None)
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        help_text=_("Used to log in: letters, digits and @ . + - _, e.g. dept_411502_13."),
    )
    display_name = forms.CharField(
        label=_("Name"),
        max_length=150,
        help_text=_("Shown to colleagues instead of the username, e.g. 张敏（工信局）."),
    )
    password = forms.CharField(
        label=_("Initial password"),
        widget=forms.PasswordInput(render_value=False),
        max_length=128,
        help_text=_("At least 8 characters; tell it to the user in person."),
    )
    password_again = forms.CharField(
        label=_("Initial password, again"), max_length=128, widget=forms.PasswordInput(render_value=False)
    )

    def __init__(self, *args, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments.filter(active=True)

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password_again") and data["password"] != data["password_again"]:
            self.add_error("password_again", _("The two passwords differ."))
        return data


class ResetPasswordForm(TextRulesForm, forms.Form):
    password = forms.CharField(
        label=_("New password"),
        required=False,
        max_length=128,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty to have one generated; it is shown once."),
    )
    password_again = forms.CharField(
        label=_("New password, again"), required=False, max_length=128, widget=forms.PasswordInput(render_value=False)
    )

    def clean(self):
        data = super().clean()
        if (data.get("password") or "") != (data.get("password_again") or ""):
            self.add_error("password_again", _("The two passwords differ."))
        return data


class DepartmentFilterForm(forms.Form):
    department = DepartmentChoiceField(label=_("Department"), queryset=None, required=False, empty_label=_("All"))

    def __init__(self, *args, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments
