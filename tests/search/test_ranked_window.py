"""A ranked search ranks (and counts) only the newest matches, after every filter; routing leaves
out the words most of a county's cases hold. Small limits here stand for the 1,000 of production."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.models import Case
from cases.routing_suggestions import _telling_words, suggest
from cases.search import query
from cases.search.query import search, word_shares
from tests.conftest import pdf_file
from tests.search.conftest import NEW_TEXTS, TOPICS, dept_user_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_window(monkeypatch):
    """Rank at most 4 matches, looking first at the 2 newest ids (then wider)."""
    monkeypatch.setattr(query, "RANKED", 4)
    monkeypatch.setattr(query, "FIRST_WINDOW", 2)
    monkeypatch.setattr(query, "_newest", {"id": 0, "at": -1e9})  # no newest id remembered from another test


@pytest.fixture
def power_cases(make_case):
    """Seven cases holding 增容, oldest first; the oldest holds it in its enterprise's name (the best
    match of all), the newest twice in a short text."""
    oldest = make_case(enterprise_name="信阳增容电气有限公司", description="园区道路未贯通影响运输，另需用电增容")
    middle = [make_case(description=f"第{n}号车间用电增容申请、厂房扩建、设备购置事项，情况复杂") for n in range(5)]
    newest = make_case(description="用电增容申请未批复，增容容量不足")
    make_case(description="稳岗补贴申领材料被退回")  # holds none of the words
    return [oldest, *middle, newest]


def test_a_ranked_search_ranks_the_newest_matches_best_first_and_says_there_are_more(
    small_window, power_cases, county_a
):
    found = search(Case.objects.for_user(county_a), "增容")
    assert found.count() == 4
    ids = [case.pk for case in found]
    newest_four = {case.pk for case in power_cases[-4:]}
    assert set(ids) == newest_four  # the oldest, best-matching case is past the window
    assert ids[0] == power_cases[-1].pk  # ranked: the short text with the word twice first
    assert found.search_capped


def test_a_search_with_fewer_matches_than_the_limit_finds_them_all_and_is_not_capped(
    small_window, power_cases, county_a
):
    found = search(Case.objects.for_user(county_a), "增容 道路")
    assert [case.pk for case in found] == [power_cases[0].pk]
    assert found.count() == 1 and not found.search_capped


def test_filters_applied_after_the_search_choose_among_every_match_before_the_limit(
    small_window, power_cases, county_a
):
    older = search(Case.objects.for_user(county_a), "增容").filter(pk__lte=power_cases[2].pk)
    assert {case.pk for case in older} == {case.pk for case in power_cases[:3]}
    assert older.count() == 3 and not older.search_capped
    assert [case.pk for case in older][0] == power_cases[0].pk  # the enterprise's name weighs most


def test_sorted_by_another_column_every_match_is_listed_and_counted(small_window, power_cases, county_a):
    every = search(Case.objects.for_user(county_a), "增容").order_by("pk")
    assert [case.pk for case in every] == [case.pk for case in power_cases]
    assert every.count() == 7


def test_a_page_of_the_ranked_matches_with_its_related_rows_reads_a_bounded_number_of_queries(
    small_window, power_cases, county_a, django_assert_max_num_queries
):
    found = search(Case.objects.for_user(county_a), "增容").select_related("enterprise", "department")
    with django_assert_max_num_queries(6):  # profile, newest id, windows (3 at most here), count: none
        assert found.count() == 4
    with django_assert_max_num_queries(2):  # the page's ids ranked, then those rows with theirs
        page = list(found[1:3])
    assert [case.pk for case in page] == [case.pk for case in found][1:3]
    assert page[0].enterprise.name


def test_the_api_and_the_page_count_the_ranked_matches(small_window, power_cases, county_a, client):
    client.force_login(county_a)
    body = client.get("/api/v1/cases/", {"q": "增容"}).json()
    assert body["count"] == 4 and body["results"][0]["number"] == power_cases[-1].number
    page = client.get(reverse("cases:ledger"), {"q": "增容"}).content.decode()
    assert "4 件" in page and "仅按相关度排列最新的 4 件" in page
    everything = client.get(reverse("cases:ledger"), {"q": "增容", "sort": "number"}).content.decode()
    assert "7 件" in everything and "仅按相关度排列" not in everything


def test_another_countys_cases_never_enter_the_window(small_window, power_cases, county_b, make_case, region_b):
    theirs = make_case(by=county_b, region=region_b, description="用电增容申请未批复")
    found = search(Case.objects.for_user(county_b), "增容", region_id=region_b.pk)
    assert [case.pk for case in found] == [theirs.pk]
    assert found.count() == 1 and not found.search_capped


# -- routing: the words nearly every case of the county holds -------------------------------------


def test_word_shares_are_measured_among_the_regions_newest_documents(make_case, region_a, region_b, county_b):
    for n in range(4):
        make_case(description=f"信阳茶业第{n}批用电增容")
    make_case(description="信阳茶业稳岗补贴")
    make_case(by=county_b, region=region_b, description="用电增容")
    looked_at, shares = word_shares(["茶业", "增容", "稳岗补贴", "电费"], region_id=region_a.pk, sample=10)
    assert looked_at == 5
    assert shares == {"茶业": 1.0, "增容": 0.8, "稳岗补贴": 0.2, "电费": 0.0}
    looked_at, shares = word_shares(["茶业", "增容"], region_id=region_a.pk, sample=2)  # the 2 newest
    assert looked_at == 2 and shares == {"茶业": 1.0, "增容": 0.5}


def test_routing_leaves_out_words_most_of_the_countys_cases_hold(
    monkeypatch, make_case, county_a, region_a, topic_departments
):
    monkeypatch.setattr("cases.routing_suggestions.COMMON_MIN_SAMPLE", 6)
    monkeypatch.setattr("cases.routing_suggestions.COMMON_SHARE", 0.5)  # three topics: a third each
    # Every case of the county names the park; each topic goes to its department.
    for topic, (_name, _category, texts) in TOPICS.items():
        department = topic_departments[topic]
        handler = dept_user_for(department)
        for text in texts:
            case = services.assign(make_case(description=f"羊山新区园区企业{text}"), by=county_a, department=department)
            services.resolve(case, by=handler, result="已解决", evidence=[pdf_file()])
    words = _telling_words(region_a, ["羊山", "园区", "增容", "稳岗补贴"])
    assert words == ["增容", "稳岗补贴"]
    for topic, text in NEW_TEXTS.items():
        suggestions = suggest(region=region_a, description=f"羊山新区园区企业{text}", now=timezone.now())
        assert suggestions[0].department.name == TOPICS[topic][0]


def test_a_short_history_keeps_every_word(make_case, region_a):
    for _ in range(3):
        make_case(description="羊山新区园区企业用电增容")
    assert _telling_words(region_a, ["羊山", "园区", "增容"]) == ["羊山", "园区", "增容"]


def test_a_word_no_case_holds_lists_nothing_on_the_page_and_the_api(power_cases, county_a, client):
    """Found by looking at the 台帐: a word no case holds made the ranked window's SQL empty (an
    empty IN) and the page answered 500."""
    client.force_login(county_a)
    page = client.get(reverse("cases:ledger"), {"q": "留抵退税"})
    assert page.status_code == 200 and "0 件" in page.content.decode()
    body = client.get("/api/v1/cases/", {"q": "留抵退税"}).json()
    assert body["count"] == 0 and body["results"] == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_ranked_search_runs_without_parallel_workers_and_leaves_the_setting(
    small_window, power_cases, county_a, dept_x
):
    """A ranked search's window probes and ranking run in a transaction of their own with parallel
    workers off (their start cost more than they saved), a department's, a county's and the
    city's; the setting ends with that transaction. The same cases either way."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    routed = [services.assign(case, by=county_a, department=dept_x) for case in power_cases[1:5]]
    handler = dept_user_for(dept_x)
    with CaptureQueriesContext(connection) as captured:
        found = search(Case.objects.for_user(handler), "增容")
        ids = [case.pk for case in found]
    assert set(ids) == {case.pk for case in routed} and found.count() == 4
    assert any("max_parallel_workers_per_gather = 0" in q["sql"] for q in captured.captured_queries)
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] != "0"
    # Inside a caller's transaction the setting would outlast the search: not set there.
    from django.db import transaction

    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        assert {case.pk for case in search(Case.objects.for_user(handler), "增容")} == set(ids)
    assert not any("max_parallel" in q["sql"] for q in captured.captured_queries)
    # A county's too, and the setting ends with it.
    with transaction.atomic():  # (no setting made inside a caller's transaction)
        plain = [case.pk for case in search(Case.objects.for_user(county_a), "增容")]
    with CaptureQueriesContext(connection) as captured:
        assert [case.pk for case in search(Case.objects.for_user(county_a), "增容")] == plain
    assert plain and any("max_parallel_workers_per_gather = 0" in q["sql"] for q in captured.captured_queries)
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] != "0"
