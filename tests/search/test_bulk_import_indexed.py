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
