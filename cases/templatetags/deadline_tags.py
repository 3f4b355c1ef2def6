from django import template

from cases import services, workdays

register = template.Library()


@register.simple_tag
def pending_extension(case):
    """The extension request of this case waiting for a decision, or None."""
    return services.pending_extension(case)


@register.simple_tag
def extension_max_days():
    return services.extension_max_days()


@register.simple_tag
def due_date_after(start, days):
    """The n-th working day after ``start`` (an ``cases.workdays.Due``): what approving adds."""
    return workdays.add_working_days(start, days) if start and days else None
