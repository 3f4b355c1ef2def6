from django import template

from cases import workdays

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


@register.simple_tag
def due_date_after(start, days):
    """The n-th working day after ``start`` (an ``cases.workdays.Due``): what approving adds."""
    return workdays.add_working_days(start, days) if start and days else None
