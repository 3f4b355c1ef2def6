"""The kept routing model (cases.search.routing_model): kept current by the services, rebuilt to the
same rows, a bounded number of queries per suggestion whatever the history's size, and the query
path for a region not built. Runs on SQLite and, with DATABASE_URL, on PostgreSQL (same answers)."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.utils import timezone

from cases import services
from cases.models import Category
from cases.routing_suggestions import _from_history, suggest
from cases.search.models import RoutingModelRegion, RoutingTerm, RoutingWeight
from cases.search.routing_model import case_terms, learn_cases, rebuild
from tests.conftest import pdf_file
from tests.search.conftest import NEW_TEXTS, TOPICS, dept_user_for

pytestmark = pytest.mark.django_db


def answers(region, text=None):
    return {
        topic: [
            (s.department.name, s.score, s.similar, s.reason)
            for s in suggest(region=region, description=text or NEW_TEXTS[topic], now=timezone.now())
        ]
        for topic in NEW_TEXTS
    }


def rows(region):
    return {
        (r.term, r.department_id): (round(r.weight, 6), r.held, r.closed, r.similar)
        for r in RoutingWeight.objects.filter(region=region)
    }


def test_the_services_keep_the_model_and_a_rebuild_gives_the_same_rows(county_history, region_a, topic_departments):
    state = RoutingModelRegion.objects.get(region=region_a)
    assert state.ready and state.cases == sum(len(c) for c in county_history.values())
    power = topic_departments["power"]
    row = RoutingWeight.objects.get(region=region_a, term="增容", department=power)
    holding = [c for c in county_history["power"] if "增容" in case_terms(c.description)]
    assert row.held == len(holding) and row.weight > 0
    assert [pk for pk, _n in row.similar] == sorted((c.pk for c in holding), reverse=True)[:3]
    assert RoutingTerm.objects.get(region=region_a, term="增容").cases == len(holding)
    kept, before = rows(region_a), answers(region_a)
    assert rebuild(region_a) == state.cases
    assert rows(region_a) == kept
    assert answers(region_a) == before


def test_a_return_takes_back_the_open_vote_and_counts_against_the_department(
    make_case, county_a, region_a, topic_departments
):
    power = topic_departments["power"]
    returner = dept_user_for(power)
    case = services.assign(make_case(description="厂区用电增容申请"), by=county_a, department=power)
    row = RoutingWeight.objects.get(region=region_a, term="增容", department=power)
    assert row.held == 1 and row.weight > 0 and row.similar == [[case.pk, case.number]]
    services.return_case(case, by=returner, reason="不属于本单位职责")
    row.refresh_from_db()
    assert row.held == 0 and row.weight < 0 and row.similar == []


def test_queries_per_suggestion_are_bounded_and_do_not_grow_with_the_history(
    county_history, make_case, county_a, region_a, topic_departments, django_assert_max_num_queries
):
    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        suggest(region=region_a, description=NEW_TEXTS["power"], now=timezone.now())  # caches filled
        with CaptureQueriesContext(connection) as captured:
            suggest(region=region_a, description=NEW_TEXTS["power"], now=timezone.now())
        return len(captured.captured_queries)

    small = count()
    handler = dept_user_for(topic_departments["power"])
    for text in TOPICS["power"][2] * 5:
        case = services.assign(make_case(description=text), by=county_a, department=topic_departments["power"])
        services.resolve(case, by=handler, result="已解决", evidence=[pdf_file()])
    assert count() == small
    with django_assert_max_num_queries(4):
        suggest(region=region_a, description=NEW_TEXTS["labour"], now=timezone.now())


def test_a_region_not_built_answers_by_the_query_path_until_rebuilt(county_history, region_a):
    before = answers(region_a)
    RoutingModelRegion.objects.filter(region=region_a).update(ready=False)
    RoutingWeight.objects.filter(region=region_a).delete()
    history = {
        topic: _from_history(
            region=region_a,
            description=NEW_TEXTS[topic],
            now=timezone.now(),
            category=None,
            visible_cases=None,
            exclude_departments=(),
            exclude_case=None,
            limit=3,
        )
        for topic in NEW_TEXTS
    }
    assert {t: [s.department.name for s in h] for t, h in history.items()} == {
        t: [s.department.name for s in suggest(region=region_a, description=NEW_TEXTS[t], now=timezone.now())]
        for t in NEW_TEXTS
    }
    call_command("rebuild_routing_model", region=region_a.code, stdout=open("/dev/null", "w"))
    assert RoutingModelRegion.objects.get(region=region_a).ready
    assert answers(region_a) == before


def test_a_rebuild_as_of_a_moment_learns_only_what_happened_before(county_history, region_a):
    first = county_history["power"][0].received_at
    assert rebuild(region_a, as_of=first) == 0
    assert suggest(region=region_a, description=NEW_TEXTS["power"], now=first + dt.timedelta(seconds=1)) == []
    rebuild(region_a)
    assert (
        suggest(region=region_a, description=NEW_TEXTS["power"], now=timezone.now())[0].department.name
        == (TOPICS["power"][0])
    )


def test_cases_written_in_bulk_are_learned(county_history, region_a, topic_departments):
    labour = topic_departments["labour"]
    before = RoutingWeight.objects.get(region=region_a, term="稳岗补贴", department=labour)
    case = next(c for c in county_history["labour"] if "稳岗补贴" in case_terms(c.description))
    assert learn_cases([case.pk]) == 1  # as a bulk writer would after writing it (learned twice here)
    after = RoutingWeight.objects.get(region=region_a, term="稳岗补贴", department=labour)
    assert after.weight > before.weight and after.held == before.held + 1


def test_numbers_are_not_learned_nor_asked_by(make_case, county_a, region_a, topic_departments):
    """An amount, a year or a serial tells no department apart: a case's numbers add no row, and a
    text's numbers change nothing of what it is suggested; the migration drops rows kept for them."""
    power = topic_departments["power"]
    terms = case_terms("2023年厂区用电增容500千伏安，３.５亩，第12345号")
    assert {"千伏安", "厂区", "增容"} <= set(terms)
    assert not {"2023", "500", "３.５", "12345"} & set(terms)
    services.assign(make_case(description="厂区用电增容申请，2024年第31号，500kVA"), by=county_a, department=power)
    assert not RoutingTerm.objects.filter(region=region_a, term__in=["2024", "31", "500"]).exists()
    assert RoutingTerm.objects.filter(region=region_a, term="500kva").exists()  # a word with a number stays
    with_numbers = suggest(region=region_a, description="厂区用电增容 2024 第31号 500", now=timezone.now())
    without = suggest(region=region_a, description="厂区用电增容", now=timezone.now())
    assert [(s.department, s.score) for s in with_numbers] == [(s.department, s.score) for s in without]
    RoutingTerm.objects.create(region=region_a, term="2024", cases=1)
    RoutingTerm.objects.create(region=region_a, term="１２５", cases=1)
    RoutingWeight.objects.create(region=region_a, term="31", department=power, weight=1.0, held=1)
    importlib.import_module("cases.search.migrations.0004_no_number_terms").drop_number_terms(apps, None)
    assert not RoutingTerm.objects.filter(term__in=["2024", "１２５"]).exists()
    assert not RoutingWeight.objects.filter(term="31").exists()
    assert RoutingTerm.objects.filter(region=region_a, term="增容").exists()


def test_the_command_refuses_an_unknown_region_or_date():
    with pytest.raises(CommandError, match="No region"):
        call_command("rebuild_routing_model", region="999999")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("rebuild_routing_model", as_of="next week")


def test_the_category_fallback_still_fills_a_text_nothing_resembles(county_history, region_a):
    suggestions = suggest(
        region=region_a, description="夜间噪声扰民", now=timezone.now(), category=Category.objects.get(code="finance")
    )
    assert [s.department.name for s in suggestions] == ["浉河区金融工作局"]
