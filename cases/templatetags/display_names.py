"""``{{ user|display_name }}``: the name a page shows for a user (cases.display_names)."""

from django import template

from cases import display_names

register = template.Library()


@register.filter
def display_name(user, fallback=""):
    """The user's display name; ``fallback`` (a stored login such as a ledger entry's actor_name)
    when the user is gone: ``{{ entry.actor|display_name:entry.actor_name }}``."""
    return display_names.display_name(user, fallback=fallback or "")
