"""The database router: marked reads go to the replica, writes and transitions to the primary.

The ``replica`` alias is a second connection to the same test database (``TEST: {"MIRROR":
"default"}``, tests/settings.py), so what each connection ran is counted separately while both
see the same committed rows.
"""

import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from cases import services
from cases.models import Case, Category, Channel
from config.db_router import reading_from_replica

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


@pytest.fixture
def replica(settings):
    settings.DATABASE_REPLICA_ALIAS = "replica"
    return "replica"


@pytest.fixture
def a_case(county_a, region_a):
    return services.create_case(
        by=county_a,
        region=region_a,
        enterprise_name="路由测试企业",
        credit_code_value="914115683BJ1XG612H",
        category=Category.objects.get(code="labour"),
        channel=Channel.objects.get(code="hotline"),
        description="需要协调用工",
    )


def queries_on(alias):
    return CaptureQueriesContext(connections[alias])


def test_without_a_replica_every_read_is_the_primarys(a_case):
    with reading_from_replica(), queries_on("replica") as on_replica:
        assert Case.objects.get(pk=a_case.pk).number == a_case.number
    assert Case.objects.all().db == "default" and len(on_replica) == 0


def test_marked_reads_go_to_the_replica_and_see_the_committed_rows(replica, a_case):
    assert Case.objects.all().db == "default"
    with reading_from_replica():
        assert Case.objects.all().db == "replica"
        with queries_on("replica") as on_replica, queries_on("default") as on_primary:
            assert list(Case.objects.values_list("number", flat=True)) == [a_case.number]
    assert len(on_replica) == 1 and len(on_primary) == 0


def test_reads_inside_a_transaction_and_every_write_stay_on_the_primary(replica, a_case, county_a, dept_x):
    with reading_from_replica():
        with transaction.atomic():
            assert Case.objects.all().db == "default"
        with queries_on("replica") as on_replica, queries_on("default") as on_primary:
            services.assign(a_case, by=county_a, department=dept_x)
    assert len(on_replica) == 0
    assert any("cases_case" in q["sql"] for q in on_primary)
    if connections["default"].vendor == "postgresql":  # the transition locked the row on the primary
        assert any("FOR UPDATE" in q["sql"] for q in on_primary)
    a_case.refresh_from_db()
    assert a_case.state == "assigned"


def test_the_streamed_export_reads_from_the_replica_chunk_by_chunk(replica, client, county_a, a_case):
    client.force_login(county_a)
    with queries_on("replica") as on_replica:
        response = client.get("/ledger/export.csv")
        body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200 and a_case.number.encode() in body
    assert any("cases_case" in q["sql"] for q in on_replica)


def test_scoring_pages_read_from_the_replica_but_a_post_does_not(replica, client, assessor, a_case):
    from django.utils import timezone

    year = timezone.localdate().year
    client.force_login(assessor)
    with queries_on("replica") as on_replica:
        assert client.get(f"/scoring/{year}/").status_code == 200
    assert any("scoring_assessment" in q["sql"] for q in on_replica)
    assert any("ledger_ledgerhead" in q["sql"] or "cases_case" in q["sql"] for q in on_replica)
    with queries_on("replica") as on_replica:
        client.post(f"/scoring/{year}/411502/items/1/", {})
    assert len(on_replica) == 0


@pytest.mark.postgres
def test_a_ranked_search_marked_for_the_replica_runs_there_whole(replica, a_case, county_a):
    """A ranked search (cases.search) read from the replica: its window probes and ranking, and the
    transaction they run in without parallel workers, on the replica's connection — none on the
    primary's."""
    from cases.search.query import search

    with reading_from_replica():
        with queries_on("replica") as on_replica, queries_on("default") as on_primary:
            found = list(search(Case.objects.for_user(county_a), "用工"))
    assert [case.pk for case in found] == [a_case.pk]
    assert any("max_parallel_workers_per_gather" in q["sql"] for q in on_replica.captured_queries)
    assert not any("case_search_document" in q["sql"] for q in on_primary.captured_queries)
    assert not any("max_parallel" in q["sql"] for q in on_primary.captured_queries)
