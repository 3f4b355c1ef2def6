"""The search rows' rebuild and this index's migrations with cases on record: index_cases locks only
the cases it reads, a rename between two of its batches is kept, the copies made by cases 0023 and
case_search 0005 survive the migrations back and forth, and case_search 0001 still indexes the
cases on record with today's index_cases."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from cases import services
from cases.models import Case, DepartmentCase
from cases.search.models import SearchDocument
from tests.conftest import pdf_file

POWER = "企业扩大生产需要用电增容，申请报装两个月未批复"


@pytest.mark.django_db(transaction=True)
def test_index_cases_locks_the_cases_only(make_case, county_a, dept_x):
    """Each batch's cases, not their enterprises (an intake's rename or a bulk import's never waits
    for a rebuild, nor deadlocks with it)."""
    from cases.search.index import index_cases

    case = make_case(description=POWER)
    services.assign(case, by=county_a, department=dept_x)
    with CaptureQueriesContext(connection) as captured:
        assert index_cases() >= 1
        assert index_cases([case.pk]) == 1
    locking = [q["sql"] for q in captured.captured_queries if "FOR " in q["sql"] and "cases_enterprise" in q["sql"]]
    if connection.vendor == "postgresql":
        assert locking and all('FOR NO KEY UPDATE OF "cases_case"' in sql for sql in locking), locking


def _snapshot():
    return (
        sorted(DepartmentCase.objects.values_list("case_id", "department_id", "satisfaction")),
        sorted(SearchDocument.objects.values_list("case_id", "departments", "ident", "enterprise", "body")),
    )


@pytest.mark.django_db(transaction=True)
def test_the_migrations_back_and_forth_keep_the_copies(make_case, county_a, dept_x, dept_y, dept_x_user):
    cases = [make_case(description=POWER) for _ in range(3)]
    services.assign(cases[0], by=county_a, department=dept_x)
    services.assign(cases[1], by=county_a, department=dept_x)
    services.return_case(cases[1], by=dept_x_user, reason="非本单位职责")
    services.assign(cases[1], by=county_a, department=dept_y)
    services.acknowledge(cases[0], by=dept_x_user)
    services.resolve(cases[0], by=dept_x_user, result="已协调增容", evidence=[pdf_file()])
    services.record_follow_up(cases[0], by=county_a, satisfaction="satisfied")
    before = _snapshot()
    assert any(s == "satisfied" for _c, _d, s in before[0])
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    executor.migrate([("cases", "0022_fewer_indexes"), ("case_search", "0004_no_number_terms")])
    executor = MigrationExecutor(connection)
    executor.migrate(leaves)
    assert _snapshot() == before
    # The search still works for the department after the round trip.
    from cases.search.query import search

    found = list(search(Case.objects.for_user(dept_x_user), "增容").values_list("pk", flat=True))
    assert sorted(found) == sorted([cases[0].pk, cases[1].pk])


@pytest.mark.django_db(transaction=True)
def test_case_search_0001_indexes_existing_cases_with_the_new_index_cases(make_case, county_a, dept_x):
    """From before the search index (cases 0008, no case_search) to the head, with cases on record."""
    cases = [make_case(description=POWER) for _ in range(3)]
    services.assign(cases[0], by=county_a, department=dept_x)
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    executor.migrate([("case_search", None)])
    executor = MigrationExecutor(connection)
    executor.migrate(leaves)
    docs = dict(SearchDocument.objects.values_list("case_id", "departments"))
    assert set(docs) == {c.pk for c in cases}
    assert docs[cases[0].pk] == str(dept_x.pk)


@pytest.mark.django_db(transaction=True)
def test_a_rename_between_two_batches_of_a_rebuild_is_kept(make_case, county_a, monkeypatch):
    """reindex_search commits per batch and can run while the office works: an intake renaming the
    enterprise between two batches updates every row (enterprise_saved); the later batch writes
    the name it reads, not the old name's words from the batches before."""
    from django.db import transaction as real

    from cases.models import Enterprise
    from cases.search import index

    first = make_case(enterprise_name="信阳纺织有限公司", description=POWER)
    second = make_case(enterprise_name="信阳纺织有限公司", description=POWER)
    enterprise = Enterprise.objects.get(pk=first.enterprise_id)
    assert second.enterprise_id == enterprise.pk
    calls = {"n": 0}

    class Between:
        @staticmethod
        def atomic(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 2:  # batch 1 committed, batch 2 not begun: an intake renames
                enterprise.name = "信阳棉麻有限公司"
                enterprise.save(update_fields=["name"])
            return real.atomic(*args, **kwargs)

    monkeypatch.setattr(index, "transaction", Between)
    index.index_cases(batch=1)
    from cases.search.query import search

    found = set(search(Case.objects.for_user(county_a), "棉麻").values_list("pk", flat=True))
    rows = dict(SearchDocument.objects.values_list("case_id", "enterprise"))
    assert found == {first.pk, second.pk}, (found, rows)
