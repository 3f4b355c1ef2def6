from django import template

register = template.Library()


@register.simple_tag
def pending_extension(case):
    """The extension request of this case waiting for a decision, or None."""
    from cases.services import pending_extension

    return pending_extension(case)


@register.simple_tag
def extension_max_days():
    from cases.services import extension_max_days as limit

    return limit()
