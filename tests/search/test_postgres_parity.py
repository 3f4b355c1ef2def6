"""The two search paths — PostgreSQL (tsvector, GIN, ts_rank) and SQLite (FTS5, bm25) — find the
same cases for the same words on the same data. Runs on PostgreSQL; the SQLite side is an
in-memory database built with migration 0001's own FTS5 statements and loaded with the very
rows PostgreSQL holds, queried with the SQLite syntax ``cases.search.query`` writes."""

from __future__ import annotations

import importlib
import random
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.models import Case, Category
from cases.search.models import SearchDocument
from cases.search.query import match_expression, matching, search
from cases.search.segment import query_words
from scoring.load_vocabulary import TOPICS, describe

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

MIGRATION = importlib.import_module("cases.search.migrations.0001_initial")
WORDS = [
    "增容",
    "变压器",
    "停电",
    "用地",
    "稳岗补贴",
    "补贴",
    "招工",
    "留抵退税",
    "退税",
    "续贷",
    "贷款",
    "银企对接",
    "担保",
    "施工许可",
    "许可",
    "环评",
    "产销对接",
    "专精特新",
    "企业减负",
    "取水许可",
    "厂房",
    "合成",
    "纺织",
    "茶业",
    "00003",
    "二期生产线",
    "希望",
    "反映",
]


def _sqlite_copy() -> sqlite3.Connection:
    lite = sqlite3.connect(":memory:")
    lite.execute(
        "CREATE TABLE case_search_document (case_id integer PRIMARY KEY, region_id integer, ident text, "
        "enterprise text, body text)"
    )
    for statement in MIGRATION.SQLITE:
        lite.execute(statement)
    lite.executemany(
        "INSERT INTO case_search_document VALUES (?, ?, ?, ?, ?)",
        SearchDocument.objects.values_list("case_id", "region_id", "ident", "enterprise", "body"),
    )
    return lite


def _sqlite_ids(lite, words, *, any_word: bool) -> list[int]:
    expression = match_expression(words, any_word=any_word, vendor="sqlite")
    return [
        row[0]
        for row in lite.execute(
            "SELECT rowid FROM case_search_fts WHERE case_search_fts MATCH ? "
            "ORDER BY bm25(case_search_fts, 10.0, 4.0, 1.0)",
            [expression],
        )
    ]


@pytest.fixture
def corpus(make_case, county_a):
    rng = random.Random(4)
    trades = ["纺织", "茶业", "建材", "机械"]
    for index in range(36):
        topic = TOPICS[index % len(TOPICS)]
        make_case(
            enterprise_name=f"信阳{trades[index % 4]}合成企业{index}有限公司",
            category=Category.objects.get(code=topic.category),
            description=describe(topic, rng),
        )
    return _sqlite_copy()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3, unique=True), any_word=st.booleans())
def test_both_databases_find_the_same_cases(corpus, words, any_word):
    postgres = list(matching(Case.objects.all(), words, any_word=any_word).values_list("pk", flat=True))
    assert sorted(postgres) == sorted(_sqlite_ids(corpus, words, any_word=any_word))


def test_a_search_box_query_ranks_its_clear_best_match_first_on_both(corpus, make_case):
    best = make_case(enterprise_name="信阳用电增容示范企业有限公司", description="用电增容，增容改造，变压器增容")
    lite = _sqlite_copy()
    words = query_words("增容")
    assert numbers_first(search(Case.objects.all(), "增容")) == best.pk
    assert _sqlite_ids(lite, words, any_word=False)[0] == best.pk


def numbers_first(queryset) -> int:
    return queryset.values_list("pk", flat=True)[0]
