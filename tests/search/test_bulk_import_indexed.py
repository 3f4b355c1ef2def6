"""Cases a bulk import writes (no post_save) are found by search, from the import's own transaction."""

from pathlib import Path

import pytest

from cases.importing import run_import
from cases.models import Case
from cases.search.query import search

pytestmark = pytest.mark.django_db(transaction=True)
EXAMPLE = Path(__file__).resolve().parent.parent / "imports" / "data" / "ledger-example.csv"


def test_a_bulk_imported_case_is_found_by_its_words(city_user):
    summary = run_import(EXAMPLE, by=city_user, dry_run=False, write_path="bulk")
    assert summary["created"] > 0 and not summary.get("errors")
    found = list(search(Case.objects.all(), "纺织").values_list("ref", flat=True))
    assert "411522-2024-T001" in found


def test_a_bulk_imported_case_is_learned_by_the_routing_model(city_user):
    from cases.search.models import RoutingTerm
    from cases.search.routing_model import case_terms

    run_import(EXAMPLE, by=city_user, dry_run=False, write_path="bulk")
    case = Case.objects.get(ref="411522-2024-T001")
    terms = case_terms(case.description)
    learned = dict(RoutingTerm.objects.filter(region=case.region, term__in=terms).values_list("term", "cases"))
    assert terms and set(learned) == set(terms) and all(n >= 1 for n in learned.values())
