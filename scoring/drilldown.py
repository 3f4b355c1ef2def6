"""The cases behind items 13 and 15 and the periods behind item 14, as rows an assessor can
defend a point with: case number, enterprise, department, received, due date, closed, working
days late, what is missing — every fact as the ledger stood at the end of the cutoff day.

A fixed number of queries whatever the number of rows: the cases (1), their ledger entries up to
the cutoff (1 per chunk of ids), the departments (1), the calendar (1); item 14: its notices (1).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from cases.models import Case, Department, local_date
from cases.workdays import current_calendar
from ledger.chain import grouped_by_case
from ledger.completeness import LACK_LABELS
from ledger.heads import replay
from ledger.models import LedgerEntry
from notices import periods
from notices.models import Frequency, Notice

from .item13 import LedgerCompleteness
from .item14 import NoticeService
from .item15 import Timeliness
from .scope import Scope

CHUNK = 900  # ids per IN (…): well under SQLite's variable limit


CLASS_LABELS = {
    "closed_late": gettext_lazy("Closed late"),
    "open_late": gettext_lazy("Open past the due date"),
    "pending": gettext_lazy("Pending (due later)"),
    "incomplete": gettext_lazy("Incomplete ledger"),
}


def lack_label(code: str) -> str:
    return str(LACK_LABELS.get(code, code))


@dataclass
class CaseRow:
    number: str
    klass: str  # closed_late / open_late / pending (item 15), incomplete (item 13)
    case_id: int | None = None
    enterprise: str = ""
    department: str = ""
    received_on: dt.date | None = None
    due_date: dt.date | None = None
    closed_on: dt.date | None = None
    days_late: int | None = None  # working days past the due date (closed or as of the moment)
    missing: list[str] = field(default_factory=list)

    @property
    def klass_label(self) -> str:
        return str(CLASS_LABELS.get(self.klass, self.klass))

    @property
    def missing_labels(self) -> list[str]:
        return [lack_label(code) for code in self.missing]


SORTS = {
    "number": lambda r: r.number,
    "enterprise": lambda r: r.enterprise,
    "department": lambda r: r.department or None,
    "received": lambda r: r.received_on,
    "due": lambda r: r.due_date,
    "closed": lambda r: r.closed_on,
    "late": lambda r: r.days_late,
    "class": lambda r: r.klass,
    "missing": lambda r: len(r.missing),
}


def sort_rows(rows: list[CaseRow], sort: str | None) -> tuple[list[CaseRow], str]:
    """Sorted by ``sort`` (a key of SORTS, ``-`` first for descending; the number breaks ties;
    rows without the value last either way); an unknown key sorts by number. Returns the rows
    and the sort applied."""
    sort = sort or "number"
    key = sort.lstrip("-")
    if key not in SORTS:
        sort, key = "number", "number"
    value = SORTS[key]
    rows = sorted(rows, key=lambda r: r.number)
    known = sorted((r for r in rows if value(r) is not None), key=value, reverse=sort.startswith("-"))
    return known + [r for r in rows if value(r) is None], sort


# The sorts that need no fact from the ledger: a page of the drill-down is cut from the stored
# lists of case numbers and only its own rows are looked up (``listed``, ``sort_listed``, ``filled``).
LISTED_SORTS = ("number", "class", "missing")


@dataclass
class Listed:
    """The cases an item lists, by number: their class and what they lack. Kept as one dict each
    (no object per case: tens of thousands at a million cases, and the collector walks objects)."""

    klasses: dict[str, str]
    lacks: dict[str, list[str]]


def listed(detail: Timeliness | LedgerCompleteness) -> Listed:
    """The cases ``timeliness_rows`` / ``ledger_rows`` would give rows for, before their facts."""
    if isinstance(detail, Timeliness):
        klasses = dict.fromkeys(detail.closed_late, "closed_late")
        klasses.update(dict.fromkeys(detail.open_late, "open_late"))
        klasses.update(dict.fromkeys(detail.pending, "pending"))
        return Listed(klasses, {})
    lacks = {number: missing for number, missing in detail.incomplete}
    return Listed(dict.fromkeys(lacks, "incomplete"), lacks)


def sort_listed(found: Listed, sort: str | None, show: str | None = None) -> tuple[list[str], str]:
    """The numbers in the order ``sort_rows`` gives their rows, for the sorts of LISTED_SORTS
    (ties by number; numbers are unique), only those of class ``show`` if given."""
    sort = sort or "number"
    key, descending = sort.lstrip("-"), sort.startswith("-")
    numbers = sorted(found.klasses if not show else [n for n, k in found.klasses.items() if k == show])
    if key == "number":
        return (numbers[::-1] if descending else numbers), sort
    if key == "class":
        return sorted(numbers, key=found.klasses.__getitem__, reverse=descending), sort
    lacks = found.lacks
    return sorted(numbers, key=lambda n: len(lacks.get(n, ())), reverse=descending), sort


def filled(numbers: list[str], found: Listed, scope: Scope, *, as_of: dt.date) -> list[CaseRow]:
    """The rows of ``numbers`` (a page of ``sort_listed``) with their facts as of the cutoff, in
    the same order: a page's hundred cases read, not the item's thousands."""
    full = case_rows(
        {number: found.klasses[number] for number in numbers},
        scope,
        as_of=as_of,
        missing={number: list(found.lacks.get(number, [])) for number in numbers},
    )
    by_number = {row.number: row for row in full}
    return [by_number[number] for number in numbers]


def _facts_at_cutoff(case_ids: list[int], scope: Scope) -> dict[int, dict]:
    """Each case's head as the ledger stood at the end of the cutoff day."""
    facts: dict[int, dict] = {}
    for start in range(0, len(case_ids), CHUNK):
        entries = (
            LedgerEntry.objects.filter(case_id__in=case_ids[start : start + CHUNK], occurred_at__lt=scope.end)
            .order_by("case_id", "seq")
            .only("case_id", "seq", "action", "to_state", "occurred_at", "due_date", "payload")
        )
        facts.update((case_id, replay(chain).head) for case_id, chain in grouped_by_case(entries.iterator()))
    return facts


def case_rows(
    klasses: dict[str, str], scope: Scope, *, as_of: dt.date, missing: dict[str, list[str]] | None = None
) -> list[CaseRow]:
    """Rows for the cases numbered in ``klasses`` ({number: class}), facts as of the cutoff;
    working days late counted to the closing day, or to ``as_of`` for a case still open."""
    missing = missing or {}
    numbers = list(klasses)
    cases: dict[str, tuple] = {}
    for start in range(0, len(numbers), CHUNK):
        for row in Case.objects.filter(number__in=numbers[start : start + CHUNK]).values_list(
            "number", "pk", "enterprise__name", "received_at"
        ):
            cases[row[0]] = row
    facts = _facts_at_cutoff([row[1] for row in cases.values()], scope)
    department_ids = {f["department_id"] for f in facts.values() if f.get("department_id") is not None}
    names = dict(Department.objects.filter(pk__in=department_ids).values_list("pk", "name")) if department_ids else {}
    calendar = current_calendar()
    rows = []
    for number, klass in klasses.items():
        found = cases.get(number)
        row = CaseRow(number=number, klass=klass, missing=list(missing.get(number, [])))
        if found is not None:
            _number, pk, enterprise, received_at = found
            fact = facts.get(pk, {})
            closed = fact.get("close_seq") is not None and fact["close_seq"] > (fact.get("reopen_seq") or 0)
            row.case_id, row.enterprise, row.received_on = pk, enterprise, local_date(received_at)
            department_id = fact.get("department_id")
            row.department = names.get(department_id, "") if department_id else ""
            row.due_date = fact.get("due_date")
            row.closed_on = local_date(fact["closed_at"]) if closed else None
            if row.due_date is not None and klass in ("closed_late", "open_late"):
                row.days_late = calendar.working_days_between(row.due_date, row.closed_on or as_of)
        rows.append(row)
    return rows


def timeliness_rows(detail: Timeliness, scope: Scope, *, as_of: dt.date) -> list[CaseRow]:
    klasses = {n: "closed_late" for n in detail.closed_late}
    klasses.update({n: "open_late" for n in detail.open_late})
    klasses.update({n: "pending" for n in detail.pending})
    return case_rows(klasses, scope, as_of=as_of)


def ledger_rows(detail: LedgerCompleteness, scope: Scope, *, as_of: dt.date) -> list[CaseRow]:
    missing = {number: lacks for number, lacks in detail.incomplete}
    return case_rows(dict.fromkeys(missing, "incomplete"), scope, as_of=as_of, missing=missing)


# -- item 14 -------------------------------------------------------------------------------------


@dataclass
class PeriodRow:
    period: str
    end: dt.date
    deadline: dt.date  # issued by then (and by the cutoff) to serve the period
    served: bool | None  # None: pending, still within its issuing window as of today
    notices: list[Notice] = field(default_factory=list)


def frequency_label(value: str | None) -> str:
    if not value:
        return _("no schedule")
    try:
        return str(Frequency(value).label)
    except ValueError:
        return value


def period_rows(detail: NoticeService, cutoff: dt.date) -> list[PeriodRow]:
    ids = [pk for found in detail.notices.values() for pk in found]
    notices = {n.pk: n for n in Notice.objects.filter(pk__in=ids).order_by("issued_on", "id")} if ids else {}
    served = set(detail.periods_served)
    pending = set(detail.periods_pending)
    rows = []
    for key in sorted([*detail.periods_due, *detail.periods_pending]):
        period = periods.parse(key)
        rows.append(
            PeriodRow(
                period=key,
                end=period.end,
                deadline=period.next().end if key in pending else min(period.next().end, cutoff),
                served=None if key in pending else key in served,
                notices=[notices[pk] for pk in detail.notices.get(key, []) if pk in notices],
            )
        )
    return rows


def missing_header() -> str:
    """Item 13's column of what a case lacks (缺少) — not the notices' 'Missing' (未通报)."""
    return pgettext("what a case's ledger lacks", "Missing")
