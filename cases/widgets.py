"""A ``<select>`` written in Python: Django's Select renders two templates per option (the option
and its attributes), ~40 µs each; the 台帐's filter form has about eighty options on every view.
The HTML is the same as Django's own (tests/cases/test_fast_rendering.py compares them)."""

from __future__ import annotations

from django import forms
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, SafeString, mark_safe


def _as_s(value) -> str:
    """``{{ value|stringformat:'s' }}``: "%s" % value, escaped unless the value was safe already."""
    text = str(value)
    return text if isinstance(value, SafeData) else conditional_escape(text)


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html: False leaves the attribute out, True writes its name alone."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        parts.append(
            f" {conditional_escape(name)}" if value is True else f' {conditional_escape(name)}="{_as_s(value)}"'
        )
    return "".join(parts)


class FastSelect(forms.Select):
    """django/forms/widgets/select.html and select_option.html, without the template engine."""

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, group_choices, _index in widget["optgroups"]:
            if group_name:
                parts.append(f'\n  <optgroup label="{conditional_escape(localize(group_name))}">')
            for option in group_choices:
                parts.append(
                    f'\n  <option value="{_as_s(option["value"])}"{_attrs(option["attrs"])}>'
                    f"{conditional_escape(localize(option['label']))}</option>\n"  # select_option.html's last line
                )
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))
