"""Migrations cases 0022, 0024 and ledger 0008: the indexes no query needs are gone, uniqueness
stays, and ``DropFieldIndexes`` reversed makes the indexes again."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.loader import MigrationLoader

from ledger.schema_ops import LIKE, DropFieldIndexes

GONE = {
    "cases_case": {
        "cases_case_number_980c9551_like",
        "cases_case_region_id_ffee331b",
        "cases_case_department_id_c5b7309d",
        "cases_case_category_id_c6dc5a5a",  # (0024: case_category_region_idx leads with the category)
    },
    "cases_caseassignment": {"cases_caseassignment_department_id_3a2d06e4"},
    "cases_enterprise": {"cases_enterprise_credit_code_32fe7abe_like"},
    "ledger_ledgerentry": {"ledger_ledgerentry_hash_60e781a8_like", "ledger_ledgerentry_case_id_a6095f8b"},
}
UNIQUE = [("cases_case", "number"), ("cases_enterprise", "credit_code"), ("ledger_ledgerentry", "hash")]


def _constraints(table: str) -> dict:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, table)


@pytest.mark.django_db
def test_the_indexes_no_query_needs_are_gone_and_each_column_stays_unique():
    for table, names in GONE.items():
        assert not names & set(_constraints(table)), table
    for table, column in UNIQUE:
        assert any(info["unique"] and info["columns"] == [column] for info in _constraints(table).values()), column
    leading = [info["columns"][0] for info in _constraints("cases_case").values() if info["index"]]
    assert "category_id" in leading  # the foreign key's lookups still have an index


@pytest.mark.django_db
def test_a_repeated_credit_code_is_still_refused_by_the_database():
    from cases.models import Enterprise

    Enterprise.objects.create(name="甲", credit_code="91411500MA44XXXX1X")
    with pytest.raises(IntegrityError), transaction.atomic():
        Enterprise.objects.bulk_create([Enterprise(name="乙", credit_code="91411500MA44XXXX1X")])


@pytest.mark.django_db
def test_reversed_the_operation_makes_the_indexes_again():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's schema editor cannot run inside the test's transaction; PostgreSQL's DDL can")
    loader = MigrationLoader(connection)
    before = loader.project_state(("ledger", "0007_head_stages"))
    after = loader.project_state(("ledger", "0008_fewer_indexes"))
    operation = DropFieldIndexes("ledgerentry", [("hash", LIKE), ("case", "")])
    with connection.schema_editor(atomic=False) as editor:
        operation.database_backwards("ledger", editor, after, before)
    assert GONE["ledger_ledgerentry"] <= set(_constraints("ledger_ledgerentry"))
    with connection.schema_editor(atomic=False) as editor:
        operation.database_forwards("ledger", editor, before, after)
    assert not GONE["ledger_ledgerentry"] & set(_constraints("ledger_ledgerentry"))
