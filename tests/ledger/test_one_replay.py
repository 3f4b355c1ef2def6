"""One replay: a chain's facts are ``ledger.heads.replay``'s, and every other reader of them is held
equal to it, case by case, on chains hypothesis generates — the heads ``append`` keeps, the SQL of
``heads.rebuild``, and item 15's SQL over heads and over entries as of the cutoff.

Each chain is created through ``cases.services.create_case`` and grown through
``ledger.services.append`` (the real hashing and head keeping) with any sequence of actions the
case's states allow, departments given as ids, id strings, empty or absent, due dates on any
entry, and times that repeat and straddle the end of the cutoff day. On SQLite; on PostgreSQL
(its own SQL dialect) when DATABASE_URL is set, where the ``postgres`` test below must run.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import heads
from ledger import services as ledger
from ledger.completeness import lacks
from ledger.models import LedgerEntry, LedgerHead
from ledger.verify import HEAD_FIELDS
from scoring.item15 import from_entries_sql, from_heads_sql
from scoring.scope import make_scope
from scoring.sql import dialect_for, dt_param

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")
SCOPE = make_scope(2025, dt.date(2025, 6, 30))  # the end of the cutoff day: 2025-07-01 00:00 Beijing
END = SCOPE.end

# What each state allows next (as the services do), and where each action leaves the case.
NEXT = {
    "received": ["assign", "supervise", "recompute_due"],
    "assigned": [
        "acknowledge",
        "reassign",
        "return",
        "request_extension",
        "approve_extension",
        "reject_extension",
        "evidence",
        "resolve",
        "explain",
        "supervise",
        "recompute_due",
    ],
    "resolved": ["reopen", "follow_up", "evidence"],
    "explained": ["reopen", "follow_up"],
}
LEAVES_IN = {
    "assign": "assigned",
    "return": "received",
    "resolve": "resolved",
    "explain": "explained",
    "reopen": "assigned",
}
NAMING_A_DEPARTMENT = ("assign", "reassign", "return", "reopen")

departments = st.one_of(st.integers(1, 10**6), st.integers(1, 999).map(str), st.just(""), st.none())
due_dates = st.one_of(st.none(), st.dates(dt.date(2025, 6, 1), dt.date(2025, 8, 31)))
around_the_end = st.sampled_from([END - dt.timedelta(microseconds=1), END, END + dt.timedelta(microseconds=1)])
received_times = st.one_of(
    around_the_end,
    st.datetimes(dt.datetime(2025, 6, 26), dt.datetime(2025, 7, 3), timezones=st.just(BEIJING)),
)


@st.composite
def later(draw, at: dt.datetime) -> dt.datetime:
    """The next entry's time: the same moment, a little or a few days later, or at the end of the
    cutoff day (give or take a microsecond) when that is not earlier."""
    return draw(
        st.one_of(
            st.just(at),
            st.integers(1, 10**6).map(lambda us: at + dt.timedelta(microseconds=us)),
            st.integers(1, 5 * 86400).map(lambda s: at + dt.timedelta(seconds=s)),
            around_the_end.map(lambda moment: max(at, moment)),
        )
    )


@st.composite
def chains(draw) -> tuple[dt.datetime, list[dict]]:
    """When a case is received, and the entries that follow its creation."""
    received = draw(received_times)
    state, at, steps = "received", received, []
    for _ in range(draw(st.integers(0, 9))):
        action = draw(st.sampled_from(NEXT[state]))
        at = draw(later(at))
        payload: dict = {}
        if action in NAMING_A_DEPARTMENT and draw(st.booleans()):
            payload["department"] = draw(departments)
        if action in ("resolve", "explain"):
            payload.update(result="已办结", evidence=[{"reference": "办结材料.pdf"}] * draw(st.integers(0, 1)))
        to_state = LEAVES_IN.get(action, state)
        steps.append(
            dict(
                action=action,
                from_state=state,
                to_state=to_state,
                occurred_at=at,
                payload=payload,
                due_date=draw(due_dates),
            )
        )
        state = to_state
    return received, steps


def _utc(value) -> dt.datetime | None:
    """A timestamp as the database returns it in raw SQL (SQLite: naive UTC text), in UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _date(value) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(str(value))


def _department(value) -> int | None:
    return None if value in (None, "") else int(value)


def _item15_rows(region_id: int) -> dict[int, dict]:
    """{case id: its row} from item 15's two halves: chains that end before the end of the cutoff
    day (from their heads) and chains that go on past it (from their entries before then)."""
    d = dialect_for(SCOPE)
    start, end = dt_param(SCOPE.start), dt_param(SCOPE.end)
    found: dict[int, dict] = {}
    with connection.cursor() as cursor:
        for half, sql, params in (
            ("heads", from_heads_sql(d, 1), [region_id, start, end, end]),
            ("entries", from_entries_sql(d, 1), [region_id, start, end, end, end]),
        ):
            cursor.execute(sql, params)
            names = [column[0] for column in cursor.description]
            for values in cursor.fetchall():
                row = dict(zip(names, values, strict=True))
                assert row["id"] not in found, f"case {row['number']} in both halves"
                found[row["id"]] = {
                    "half": half,
                    "n": int(row["n"]),
                    "top": int(row["top"]),
                    "close_seq": row["close_seq"],
                    "reopen_seq": row["reopen_seq"],
                    "closed_at": _utc(row["closed_at"]),
                    "due_date": _date(row["due_date"]),
                    "department": _department(row["department"]),
                }
    return found


def _as_of_cutoff(chain: list[LedgerEntry]) -> dict:
    """What item 15 must read for this chain: the replay of its entries before the end of the cutoff day."""
    prefix = [e for e in chain if e.occurred_at < END]
    facts = heads.replay(prefix).head
    return {
        "half": "heads" if len(prefix) == len(chain) else "entries",
        "n": len(prefix),
        "top": prefix[-1].seq,
        "close_seq": facts.get("close_seq"),
        "reopen_seq": facts.get("reopen_seq"),
        "closed_at": _utc(facts.get("closed_at")),
        "due_date": facts.get("due_date"),
        "department": facts.get("department_id"),
    }


def _stored_heads(case_ids: list[int]) -> dict[int, dict]:
    return {h["case_id"]: h for h in LedgerHead.objects.filter(case_id__in=case_ids).values(*HEAD_FIELDS)}


def _check_every_reader_equals_the_replay(make_case, county_a, corpus) -> None:
    with transaction.atomic():  # each example starts from the same empty ledger
        chains_by_case: dict[int, list[LedgerEntry]] = {}
        received_by_case = {}
        for received, steps in corpus:
            case = make_case(received_at=received, now=received, by=county_a)
            for step in steps:
                ledger.append(case, source="system", **step)
            chains_by_case[case.pk] = list(LedgerEntry.objects.filter(case=case).order_by("seq"))
            received_by_case[case.pk] = (case.region_id, case.received_at, case.number)
        replayed = {
            pk: {"case_id": pk, **{name: None for name in HEAD_FIELDS[1:]}, **heads.replay(chain).head}
            for pk, chain in chains_by_case.items()
        }

        # The heads append kept, entry by entry, with the completeness verdict on the whole chain.
        assert _stored_heads(list(replayed)) == replayed
        for pk, chain in chains_by_case.items():
            missing = lacks(received_by_case[pk][2], chain)
            assert LedgerHead.objects.values_list("complete", "missing").get(case_id=pk) == (not missing, missing)

        # The heads rebuild's SQL makes from the entries.
        assert heads.rebuild(case_ids=list(replayed)) == len(replayed)
        assert _stored_heads(list(replayed)) == replayed

        # Item 15's SQL, case by case, for the cases received in the year up to the cutoff.
        region_ids = {region_id for region_id, _received, _number in received_by_case.values()}
        assert len(region_ids) == 1
        expected = {pk: _as_of_cutoff(chain) for pk, chain in chains_by_case.items() if received_by_case[pk][1] < END}
        assert _item15_rows(region_ids.pop()) == expected
        transaction.set_rollback(True)


corpora = st.lists(chains(), min_size=1, max_size=4)
PROPERTY = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(corpus=corpora)
def test_heads_rebuild_and_item15_sql_equal_the_replay(make_case, county_a, corpus):
    _check_every_reader_equals_the_replay(make_case, county_a, corpus)


@pytest.mark.postgres
@settings(PROPERTY, max_examples=25)
@given(corpus=corpora)
def test_on_postgresql_the_sql_equals_the_replay(make_case, county_a, corpus):
    """PostgreSQL's dialect differs (packed keys, ``->>``, ``COLLATE "C"``): held to the same replay."""
    assert connection.vendor == "postgresql"
    _check_every_reader_equals_the_replay(make_case, county_a, corpus)


def test_a_chain_that_crosses_the_cutoff_is_read_from_its_entries_as_of_then(make_case, county_a, dept_x):
    """One hand-made corpus, so the property above is seen to cover both halves and a reopening."""
    before = dt.datetime(2025, 6, 30, 9, tzinfo=BEIJING)
    corpus = [
        (
            before,
            [
                dict(
                    action="assign",
                    from_state="received",
                    to_state="assigned",
                    occurred_at=before,
                    payload={"department": dept_x.pk},
                    due_date=dt.date(2025, 7, 10),
                ),
                dict(
                    action="resolve",
                    from_state="assigned",
                    to_state="resolved",
                    occurred_at=END - dt.timedelta(hours=1),
                    payload={"result": "已解决", "evidence": [{"reference": "a.pdf"}]},
                    due_date=None,
                ),
                dict(
                    action="reopen",
                    from_state="resolved",
                    to_state="assigned",
                    occurred_at=END,
                    payload={"department": dept_x.pk},
                    due_date=None,
                ),
            ],
        ),
        (before, []),
    ]
    _check_every_reader_equals_the_replay(make_case, county_a, corpus)
    # and what the property compares is not vacuous: both halves, with the closing before the cutoff
    with transaction.atomic():
        first = make_case(received_at=before, now=before, by=county_a)
        for step in corpus[0][1]:
            ledger.append(first, source="system", **step)
        make_case(received_at=before, now=before, by=county_a)
        rows = _item15_rows(first.region_id)
        assert sorted(r["half"] for r in rows.values()) == ["entries", "heads"]
        crossing = rows[first.pk]
        assert (crossing["n"], crossing["close_seq"], crossing["reopen_seq"], crossing["department"]) == (
            3,
            3,
            None,
            dept_x.pk,
        )
        transaction.set_rollback(True)
