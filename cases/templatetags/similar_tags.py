"""``{% similar_cases case as found %}``: the case's similar cases as the page's user sees them
(cases/similar.py), so the case page shows them without its view having to know."""

from __future__ import annotations

from django import template

from ..similar import similar_for_cases

register = template.Library()


@register.simple_tag(takes_context=True)
def similar_cases(context, case) -> list:
    request = context.get("request")
    user = getattr(request, "user", None)
    return similar_for_cases(user, [case]).get(case.pk, [])
