"""Routing (交办): the office sends a received case to the responsible department, or an
assigned one to another department (改派)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import workdays
from ..errors import InvalidInput
from ..models import Case, CaseAssignment, Department
from ._steps import acting
from .deadlines import merged_versions


def _check_department(case: Case, department: Department | None) -> Department:
    if department is None:
        raise InvalidInput(_("Choose the department responsible."), field="department")
    if not department.active:
        raise InvalidInput(_("This department is no longer active."), field="department")
    if not department.serves(case.region):
        raise InvalidInput(_("The department must belong to the case's region or to the city."), field="department")
    return department


def _route(
    case: Case | int,
    *,
    by: User,
    department: Department,
    complex: bool | None,
    action: str,
    source: str | None,
    now: dt.datetime | None,
    due_date: dt.date | None = None,
) -> Case:
    now = now or timezone.now()
    with acting(action, case, by=by, now=now, source=source) as act:
        case = act.case
        department = _check_department(case, department)
        if action == "reassign" and department.pk == case.department_id:
            raise InvalidInput(_("The case is already with this department."), field="department")
        complex_flag = case.complex if complex is None else bool(complex)
        case.complex = complex_flag
        if due_date is not None:
            due = workdays.Due(due_date, False, "given")
        else:
            due = workdays.due_date_for(case.received_at, case.category.deadline_for(complex=complex_flag))
        date, provisional, version = due.date, due.provisional, due.calendar_version
        # Keep an approved extension on top of the new base date (a given date is final), and the
        # calendars both were counted on: entering a provisional year finds the case by its label.
        if due_date is None and case.extension_days:
            extended = workdays.add_working_days(due.date, case.extension_days)
            date, provisional = extended.date, due.provisional or extended.provisional
            version = merged_versions(due.calendar_version, extended.calendar_version)
        due_changed = (date, provisional, version) != (case.due_date, case.due_date_provisional, case.calendar_version)
        if due_changed:
            case.due_date, case.due_date_provisional, case.calendar_version = date, provisional, version
        act.transition(department=department, at=now)
        CaseAssignment.record(case, department.pk, now)
        act.record(
            {"department": department.pk, "department_name": department.name, "complex": complex_flag},
            due_date=case.due_date if due_changed else None,
        )
    return case


def assign(
    case,
    *,
    by: User,
    department: Department,
    complex: bool | None = False,
    due_date: dt.date | None = None,
    source: str | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Route a received case to the responsible department (交办); ``complex`` None or False: the
    ordinary deadline.

    ``due_date`` is only for imported history that carries its own 办理时限."""
    return _route(
        case,
        by=by,
        department=department,
        complex=bool(complex),
        action="assign",
        source=source,
        now=now,
        due_date=due_date,
    )


def reassign(
    case: Case | int,
    *,
    by: User,
    department: Department,
    complex: bool | None = None,
    source: str | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Route an assigned case to another department; ``complex`` None keeps the case's flag."""
    return _route(case, by=by, department=department, complex=complex, action="reassign", source=source, now=now)
