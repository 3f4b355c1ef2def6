"""How the scoring pages write figures: rates as percentages, points without trailing zeros."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def percent(rate) -> str:
    """A rate (a decimal string such as "0.8657", rounded half-up to 4 places) as "86.57%"."""
    if rate in (None, ""):
        return "—"
    try:
        return f"{Decimal(str(rate)) * 100:.2f}%"
    except InvalidOperation:
        return str(rate)


@register.simple_tag(takes_context=True)
def sort_link(context, key: str) -> str:
    """The query string that sorts the table by ``key`` (toggling the direction when it already
    does), keeping the other parameters."""
    request = context["request"]
    current = context.get("sort") or ""
    query = request.GET.copy()
    query["sort"] = f"-{key}" if current == key else key
    query.pop("page", None)
    return "?" + query.urlencode()


@register.filter
def lookup(mapping, key):
    """``mapping[key]`` in a template (None when absent)."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None
