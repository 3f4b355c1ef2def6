"""generate_load writes a valid synthetic year: chains verify, every state appears, scoring runs."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from cases.models import OPEN_STATES, Case, CaseAssignment, DepartmentCase
from cases.search.models import SearchDocument
from ledger.completeness import missing_by_case
from ledger.models import LedgerEntry, LedgerHead
from scoring.item13 import completeness_for_regions
from scoring.results import score_year
from scoring.scope import make_scope

pytestmark = pytest.mark.django_db


def test_generated_year_verifies_and_scores(region_a):
    out = io.StringIO()
    call_command("generate_load", cases=600, year=2025, seed=7, stdout=out)
    assert Case.objects.count() == 600
    states = set(Case.objects.values_list("state", flat=True))
    assert states == {"received", "assigned", "resolved", "explained"}
    actions = set(LedgerEntry.objects.values_list("action", flat=True))
    assert {
        "create",
        "assign",
        "return",
        "acknowledge",
        "resolve",
        "explain",
        "reopen",
        "request_extension",
        "approve_extension",
    } <= actions
    # Heads as append leaves them, the fold of each chain's stages included, so that the next
    # append to a generated case reads its head, not its chain; verify_ledger holds the fold (and
    # the rest of each head) to the chain.
    assert not LedgerHead.objects.filter(stages__isnull=True).exists()
    # The departments' rows, as the routings write them: one per routed department, open as the case
    # is, with its category and state.
    rows = set(DepartmentCase.objects.values_list("department_id", "case_id", "open"))
    states = dict(Case.objects.values_list("pk", "state"))
    assert {(d, c) for d, c, _o in rows} == set(CaseAssignment.objects.values_list("department_id", "case_id"))
    assert all(is_open == (states[c] in OPEN_STATES) for _d, c, is_open in rows)
    assert any(is_open for *_k, is_open in rows) and not all(is_open for *_k, is_open in rows)
    categories = dict(Case.objects.values_list("pk", "category_id"))
    assert all(categories[c] == k for c, k in DepartmentCase.objects.values_list("case_id", "category_id"))
    assert all(states[c] == s for c, s in DepartmentCase.objects.values_list("case_id", "state"))  # and state
    satisfaction = dict(Case.objects.values_list("pk", "satisfaction"))  # and satisfaction
    assert all(satisfaction[c] == s for c, s in DepartmentCase.objects.values_list("case_id", "satisfaction"))
    # Each search row names its case's departments, as the routings write them (cases.search.index).
    routed: dict[int, set[int]] = {}
    for department_id, case_id, _open in rows:
        routed.setdefault(case_id, set()).add(department_id)
    documents = dict(SearchDocument.objects.values_list("case_id", "departments"))
    assert documents.keys() == set(states)
    assert all(documents[c] == " ".join(map(str, sorted(routed.get(c, ())))) for c in states)
    verify = io.StringIO()
    call_command("verify_ledger", stdout=verify, stderr=verify)  # exits 1 (SystemExit) when broken
    assert "ledgers verify" in verify.getvalue()
    board = score_year(2025)
    scope = make_scope(2025)
    in_scope = Case.objects.filter(received_at__lt=scope.end).count()
    assert sum(r.items[15].detail.in_scope for r in board.regions) == in_scope
    assert all(r.items[14].detail.schedule == "monthly" for r in board.regions)
    assert any(r.items[14].detail.missing_periods for r in board.regions)  # seed 7 leaves periods out


def test_item13_fast_path_equals_the_ledger_function(region_a):
    call_command("generate_load", cases=400, year=2025, seed=3, stdout=io.StringIO())
    scope = make_scope(2025)
    regions = list(Case.objects.values_list("region_id", flat=True).distinct())
    for _run in range(2):  # cold (judging) and warm (verdicts)
        fast = completeness_for_regions(regions, scope)
        cases = Case.objects.filter(region_id__in=regions, received_at__gte=scope.start, received_at__lt=scope.end)
        slow = missing_by_case(cases, as_of=scope.as_of)
        numbers = dict(cases.values_list("pk", "number"))
        expected = sorted((numbers[pk], missing) for pk, missing in slow.items())
        got = sorted(pair for c in fast.values() for pair in c.incomplete)
        assert got == expected
        assert expected  # the generator leaves some evidence out
        assert sum(c.total for c in fast.values()) == cases.count()
