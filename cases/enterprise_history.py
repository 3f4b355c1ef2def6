"""An enterprise's history (SPEC §8): every problem it raised that the user may see, across years.

Scoped like everything else (``Case.objects.for_user``): a county sees its own cases of an
enterprise that also dealt with another county, never the other county's; a user who may see
none of its cases is told the enterprise does not exist (404), so nothing leaks. A case that
repeats an earlier one (the same wording within 365 days, ``cases.similar``) is marked, with the
cases it repeats. Two queries whatever the number of cases: the enterprise, its cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from . import credit_code
from .errors import NotFound
from .input_rules import text_problem
from .models import OPEN_STATES, Case, Enterprise, FollowUp
from .similar import THRESHOLD, WINDOW, bigrams, closeness


@dataclass
class HistoryRow:
    case: Case
    ever_dissatisfied: bool
    repeat_of: list[str] = field(default_factory=list)

    @property
    def repeated(self) -> bool:
        return bool(self.repeat_of)


@dataclass
class EnterpriseHistory:
    enterprise: Enterprise
    rows: list[HistoryRow]

    @property
    def counts(self) -> dict[str, int]:
        cases = [row.case for row in self.rows]
        return {
            "total": len(cases),
            "open": sum(1 for c in cases if c.state in OPEN_STATES),
            "reopened": sum(1 for c in cases if c.reopen_count),
            "dissatisfied": sum(1 for row in self.rows if row.ever_dissatisfied),
            "repeated": sum(1 for row in self.rows if row.repeated),
        }

    @property
    def years(self) -> list[tuple[int, list[HistoryRow]]]:
        by_year: dict[int, list[HistoryRow]] = {}
        for row in self.rows:
            by_year.setdefault(row.case.year, []).append(row)
        return sorted(by_year.items(), reverse=True)

    def as_json(self) -> dict:
        return {
            "name": self.enterprise.name,
            "credit_code": self.enterprise.credit_code,
            "size": self.enterprise.size,
            "cases": [
                {
                    "number": row.case.number,
                    "region": row.case.region.code,
                    "state": row.case.state,
                    "category": row.case.category.code,
                    "received_at": row.case.received_at,
                    "closed_at": row.case.closed_at,
                    "repeat_of": row.repeat_of,
                }
                for row in self.rows
            ],
            "counts": self.counts,
        }


def _mark_repeats(rows: list[HistoryRow]) -> None:
    """Each case's earlier cases (within 365 days) with close wording; rows are newest first."""
    fragments = [bigrams(row.case.description) for row in rows]
    for i, row in enumerate(rows):
        for j in range(i + 1, len(rows)):
            earlier = rows[j].case
            if row.case.received_at - earlier.received_at > WINDOW:
                break
            if closeness(fragments[i], fragments[j]) >= THRESHOLD:
                row.repeat_of.append(earlier.number)


def history_for(user, code: str) -> EnterpriseHistory:
    """The enterprise with this credit code and the cases of it this user may see; 404 when none."""
    code = credit_code.normalize(code)
    if text_problem(code) or len(code) > 40:
        raise NotFound(_("No such enterprise."))
    enterprise = Enterprise.objects.filter(credit_code=code).first()
    if enterprise is None:
        raise NotFound(_("No such enterprise."))
    dissatisfied = FollowUp.objects.filter(case=OuterRef("pk"), satisfaction=Case.Satisfaction.DISSATISFIED)
    cases = (
        Case.objects.for_user(user)
        .filter(enterprise=enterprise)
        .select_related("region", "category", "department")
        .annotate(ever_dissatisfied=Exists(dissatisfied))
        .order_by("-received_at", "-id")
    )
    rows = [HistoryRow(case, case.ever_dissatisfied) for case in cases]
    if not rows:
        raise NotFound(_("No such enterprise."))
    _mark_repeats(rows)
    return EnterpriseHistory(enterprise, rows)
