"""O(1) appends: ``ledger.services.append`` judges completeness from the case's head and the new
entry, and the verdict is the one ``lacks`` gives on the whole chain.

The property test appends sequences hypothesis generates (every action ``completeness`` reads:
receipts with fields missing or an invalid credit code, routings with or without a department,
extensions requested with or without a reason and approved, closings with or without a result
and evidence, evidence, reopenings, returns; entries that go back in time; heads rebuilt from the
entries mid-chain, so the append that follows reads the chain once) and after every append holds
the head's verdict and fold to ``lacks`` and ``stages_of`` of the whole chain as stored, and the
stored chain's hashes to ``check_chain``. On SQLite; on PostgreSQL when DATABASE_URL is set.
The tamper tests rewrite entries behind the triggers' back, as someone with DDL rights could.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.models import Case
from ledger import heads
from ledger import services as ledger
from ledger.chain import check_chain
from ledger.completeness import CREATE_FIELDS, lacks, stages_of
from ledger.integrity import verify_all
from ledger.models import GENESIS_HASH, LedgerEntry, LedgerHead, compute_hash
from tests.tampering import behind_the_triggers

pytestmark = pytest.mark.django_db

START = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)
VALID_CODE = "914115683BJ1XG612H"
LEAVES_IN = {
    "create": "received",
    "assign": "assigned",
    "reassign": "assigned",
    "return": "received",
    "resolve": "resolved",
    "explain": "explained",
    "reopen": "assigned",
}
ACTIONS = [
    "create",
    "assign",
    "reassign",
    "return",
    "acknowledge",
    "request_extension",
    "approve_extension",
    "reject_extension",
    "evidence",
    "resolve",
    "explain",
    "reopen",
    "supervise",
    "follow_up",
]

texts = st.sampled_from(["已办结", "  ", "", None])
evidence_items = st.lists(st.just({"reference": "办结材料.pdf"}), max_size=2)


@st.composite
def create_payloads(draw) -> dict:
    """A record of receipt with each field present, empty or absent; the credit code valid or not."""
    values = {
        "enterprise": "信阳测试企业有限公司",
        "credit_code": draw(st.sampled_from([VALID_CODE, "914115683BJ1XG6120", "123"])),
        "category": "labour",
        "channel": "hotline",
        "description": "季节性用工缺口",
        "received_at": START.isoformat(),
    }
    payload = {}
    for key in CREATE_FIELDS:
        kept = draw(st.sampled_from(["given", "given", "empty", "absent"]))
        if kept != "absent":
            payload[key] = values[key] if kept == "given" else ""
    return payload


@st.composite
def steps(draw) -> list[dict]:
    """The entries to append, one dict per ``ledger.append`` (or ``"rebuild"``: the case's head
    rebuilt from its entries before the next append)."""
    state, at, found = "received", START, []
    for _ in range(draw(st.integers(1, 14))):
        if draw(st.integers(0, 9)) == 0:
            found.append("rebuild")
        action = draw(st.sampled_from(ACTIONS))
        payload: dict = {}
        if action == "create":
            payload = draw(create_payloads())
        elif action in ("assign", "reassign", "reopen", "return") and draw(st.booleans()):
            payload["department"] = draw(st.sampled_from([7, "7", "", None]))
        elif action == "request_extension":
            reason = draw(texts)
            if reason is not None:
                payload["reason"] = reason
        elif action in ("resolve", "explain"):
            result = draw(texts)
            if result is not None:
                payload["result"] = result
            payload["evidence"] = draw(evidence_items)
        elif action == "evidence":
            payload["evidence"] = draw(evidence_items)
        to_state = draw(st.sampled_from([LEAVES_IN.get(action, state), ""]))
        # mostly later; sometimes the same moment, sometimes earlier (check_chain: a broken chain)
        at += dt.timedelta(minutes=-30 if draw(st.integers(0, 15)) == 0 else draw(st.sampled_from([0, 5, 90])))
        found.append(dict(action=action, from_state=state, to_state=to_state, occurred_at=at, payload=payload))
        state = to_state or state
    return found


def _bare_case(template: Case, n: int) -> Case:
    """A case row without any ledger entry: its chain starts with what the test appends."""
    case = Case.objects.get(pk=template.pk)
    case.pk = case.id = None
    case.serial, case.number = 90000 + n, f"{template.number}-T{n}"
    case.save(force_insert=True)
    return case


def _chain(case) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(case=case).order_by("seq"))


def _assert_head_judges_the_whole_chain(case, *, honest: bool = True) -> None:
    chain = _chain(case)
    head = LedgerHead.objects.get(case=case)
    missing = lacks(case.number, chain)
    assert (head.complete, head.missing) == (not missing, missing), chain[-1].action
    assert head.stages == stages_of(chain)
    problems = check_chain(case.number, chain)[0]
    assert head.chain_ok is (not problems)
    assert (head.seq, head.verified_seq, head.verified_hash) == (chain[-1].seq, chain[-1].seq, chain[-1].hash)
    if not honest:
        return
    # The stored hash chain links and hashes (only times may go back, which check_chain reports).
    previous = GENESIS_HASH
    for seq, entry in enumerate(chain, start=1):
        assert (entry.seq, entry.prev_hash, entry.hash) == (seq, previous, entry.expected_hash(case.number))
        previous = entry.hash


def _check_appends(make_case, corpus) -> None:
    with transaction.atomic():
        template = make_case(received_at=START, now=START)
        for n, (bare, sequence) in enumerate(corpus):
            case = _bare_case(template, n) if bare else make_case(received_at=START, now=START)
            for step in sequence:
                if step == "rebuild":
                    heads.rebuild(case_ids=[case.pk])
                    continue
                ledger.append(case, source="system", **step)
                _assert_head_judges_the_whole_chain(case)
        transaction.set_rollback(True)


corpora = st.lists(st.tuples(st.booleans(), steps()), min_size=1, max_size=3)
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(corpus=corpora)
def test_every_append_judges_as_lacks_on_the_whole_chain(make_case, corpus):
    _check_appends(make_case, corpus)


@pytest.mark.postgres
@settings(PROPERTY, max_examples=30)
@given(corpus=corpora)
def test_on_postgresql_every_append_judges_as_lacks_on_the_whole_chain(make_case, corpus):
    assert connection.vendor == "postgresql"
    _check_appends(make_case, corpus)


def test_the_property_reaches_every_lack_and_both_paths(make_case):
    """One hand-made chain, so the property above is seen to cover each lack, in its order."""
    with transaction.atomic():
        case = _bare_case(make_case(received_at=START, now=START), 1)
        payload = {"enterprise": "企业", "credit_code": "123", "channel": "hotline", "description": "说明"}
        sequence = [
            dict(action="create", to_state="received", payload=payload),
            dict(action="assign", to_state="assigned", payload={}),
            dict(action="request_extension", to_state="assigned", payload={"reason": " "}),
            dict(action="approve_extension", to_state="assigned", payload={}),
            dict(action="resolve", to_state="resolved", payload={"result": "", "evidence": []}),
        ]
        for minutes, step in enumerate(sequence):
            ledger.append(case, source="system", occurred_at=START + dt.timedelta(minutes=minutes), **step)
            _assert_head_judges_the_whole_chain(case)
        assert LedgerHead.objects.get(case=case).missing == [
            "credit_code",
            "category",
            "received_at",
            "department",
            "extension_reason",
            "result",
            "evidence",
        ]
        # an entry earlier than the one before: the chain does not verify, judged by the O(1) path
        ledger.append(case, action="supervise", source="system", occurred_at=START)
        _assert_head_judges_the_whole_chain(case)
        assert LedgerHead.objects.get(case=case).missing[0] == "ledger_chain"
        transaction.set_rollback(True)


def _grown(make_case, length: int) -> Case:
    case = make_case(received_at=START, now=START)
    with transaction.atomic():
        for n in range(length - 1):
            ledger.append(case, action="supervise", source="system", occurred_at=START + dt.timedelta(minutes=n))
    assert LedgerEntry.objects.filter(case=case).count() == length
    return case


def _queries_of_one_append(case) -> list[str]:
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        ledger.append(case, action="supervise", source="system", occurred_at=START + dt.timedelta(days=1))
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]


def test_an_append_issues_the_same_queries_whatever_the_chain_length(make_case):
    short, long = _grown(make_case, 3), _grown(make_case, 60)
    on_short, on_long = _queries_of_one_append(short), _queries_of_one_append(long)
    assert len(on_short) == len(on_long) == 4, on_long
    # the head, the chain's last entry (by its seq), the insert, the head's update
    assert "ledger_ledgerhead" in on_long[0]
    assert "ledger_ledgerentry" in on_long[1] and "ORDER BY" not in on_long[1] and "60" in on_long[1]
    assert on_long[2].startswith("INSERT") and on_long[3].startswith("UPDATE")
    _assert_head_judges_the_whole_chain(long)


def test_a_head_without_the_fold_reads_the_chain_once_and_then_is_o1(make_case):
    """A head rebuilt from the entries (or older than the fold) has no ``stages``: the next append
    reads the chain, stores the fold, and the one after it is O(1) again."""
    case = _grown(make_case, 20)
    heads.rebuild(case_ids=[case.pk])
    assert LedgerHead.objects.get(case=case).stages is None
    first = _queries_of_one_append(case)
    assert any('ORDER BY "ledger_ledgerentry"."seq"' in sql for sql in first)  # the whole chain
    _assert_head_judges_the_whole_chain(case)
    assert len(_queries_of_one_append(case)) == 4
    _assert_head_judges_the_whole_chain(case)


def _append(case) -> LedgerEntry:
    with transaction.atomic():
        return ledger.append(case, action="supervise", source="system", occurred_at=START + dt.timedelta(days=1))


def _broken(case) -> bool:
    head = LedgerHead.objects.get(case=case)
    assert head.chain_ok is ("ledger_chain" not in head.missing)
    return head.chain_ok is False and head.missing[0] == "ledger_chain" and not head.complete


def test_the_last_entry_rewritten_behind_the_triggers_is_caught_by_the_next_append(make_case):
    case = _grown(make_case, 5)
    last = LedgerEntry.objects.get(case=case, seq=5)
    behind_the_triggers(
        "UPDATE ledger_ledgerentry SET payload = %s WHERE id = %s", [json.dumps({"note": "伪造"}), last.pk]
    )
    entry = _append(case)
    assert _broken(case)
    assert (entry.seq, entry.prev_hash) == (6, last.hash)  # linked after the stored last entry, as before
    assert check_chain(case.number, _chain(case))[0] == ["entry #5 (supervise): hash does not match its content"]


def test_a_rewrite_with_hashes_recomputed_to_the_end_is_caught_by_the_next_append(make_case):
    """The forger recomputes the rewritten entry's hash and every one after it, so the chain
    verifies on its own; the head remembers the last hash it was verified with."""
    case = _grown(make_case, 4)
    previous = GENESIS_HASH
    for entry in _chain(case):
        if entry.seq == 2:
            entry.payload = {"note": "伪造"}
        entry.prev_hash = previous
        entry.hash = compute_hash(previous, entry.hashed_fields(case.number))
        behind_the_triggers(
            "UPDATE ledger_ledgerentry SET payload = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [json.dumps(entry.payload), entry.prev_hash, entry.hash, entry.pk],
        )
        previous = entry.hash
    assert check_chain(case.number, _chain(case))[0] == []
    _append(case)
    assert _broken(case)


def test_a_removed_last_entry_is_caught_by_the_next_append(make_case):
    case = _grown(make_case, 4)
    behind_the_triggers("DELETE FROM ledger_ledgerentry WHERE case_id = %s AND seq = 4", [case.pk])
    entry = _append(case)
    assert entry.seq == 4 and _broken(case)


def test_an_earlier_entry_rewritten_waits_for_the_full_pass(make_case):
    """What the O(1) append does not see: an entry before the last rewritten while the last one
    stands. The full pass finds it; from then on every append re-hashes the chain and keeps
    finding it."""
    from django.utils import timezone

    case = _grown(make_case, 5)
    first = LedgerEntry.objects.get(case=case, seq=1)
    behind_the_triggers(
        "UPDATE ledger_ledgerentry SET payload = %s WHERE id = %s",
        [json.dumps({**first.payload, "enterprise": "伪造企业"}, ensure_ascii=False), first.pk],
    )
    _append(case)
    assert LedgerHead.objects.get(case=case).chain_ok is True  # not seen by the append
    reports = verify_all(Case.objects.filter(pk=case.pk), now=timezone.now())
    assert [r.number for r in reports] == [case.number] and _broken(case)
    _append(case)
    assert _broken(case)
    _assert_head_judges_the_whole_chain(case, honest=False)


def test_verify_ledger_reports_a_head_whose_fold_is_not_its_chains_and_rebuild_heads_clears_it(make_case, capsys):
    """Heads are derived data: a fold edited in the table would judge the next append wrongly, so
    verify_ledger compares it with the chain's, and ``--rebuild-heads`` drops it (the next append
    folds the chain again)."""
    from django.core.management import call_command

    case = _grown(make_case, 3)
    stages = LedgerHead.objects.get(case=case).stages
    LedgerHead.objects.filter(case=case).update(stages={**stages, "unrouted_at": 1})
    with pytest.raises(SystemExit):
        call_command("verify_ledger")
    assert f"BROKEN {case.number}: ledger head's completeness state (stages) is not its chain's" in (
        capsys.readouterr().out
    )
    call_command("verify_ledger", rebuild_heads=True)
    assert "All 1 ledgers verify." in capsys.readouterr().out
    assert LedgerHead.objects.get(case=case).stages is None
    _append(case)
    _assert_head_judges_the_whole_chain(case)
