"""A chain rewritten behind the triggers' back reaches the score: item 13 counts it incomplete
(``ledger_chain``), the scoresheet and item 13's page say so."""

import json

import pytest
from django.core.management import call_command

from cases import services
from ledger import integrity
from ledger.models import LedgerEntry, LedgerHead, compute_hash
from scoring.item13 import reverify
from scoring.models import LedgerVerdict
from scoring.results import score_year
from scoring.scope import make_scope
from tests.tampering import behind_the_triggers

from .conftest import at


def _forge_payload(case, seq=1):
    """Rewrite one entry's content, leaving its stored hash as it was."""
    entry = LedgerEntry.objects.get(case=case, seq=seq)
    forged = {**entry.payload, "enterprise": "伪造企业"}
    behind_the_triggers(
        "UPDATE ledger_ledgerentry SET payload = %s WHERE id = %s", [json.dumps(forged, ensure_ascii=False), entry.pk]
    )


def _item13(region_code="411502"):
    return score_year(2025).as_json([region_code])["regions"][0]["items"]["13"]


def test_rewritten_entry_fails_verify_ledger_and_drops_item13_below_full_points(history, capsys):
    honest = history(at(2025, 3, 3), closed=at(2025, 3, 4))
    tampered = history(at(2025, 3, 5), closed=at(2025, 3, 6))
    assert _item13()["points"] == "4"
    _forge_payload(tampered)

    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_ledger")
    assert exit_info.value.code == 1
    assert f"BROKEN {tampered.number}: entry #1 (create): hash does not match" in capsys.readouterr().out

    item = _item13()
    assert item["points"] == "2"
    assert item["complete"] == 1 and item["total"] == 2
    assert item["incomplete"] == [{"number": tampered.number, "missing": ["ledger_chain"]}]
    head = LedgerHead.objects.get(case=tampered)
    assert head.chain_ok is False and head.verified_at is not None
    assert LedgerHead.objects.get(case=honest).chain_ok is True


def test_a_rewrite_with_recomputed_hashes_is_found_by_the_full_pass(history, capsys):
    """A careful forger recomputes the rewritten entry's hash, so the chain verifies on its own;
    the head remembers the hash it was verified with, and the full pass compares them."""
    history(at(2025, 3, 3), closed=at(2025, 3, 4))
    tampered = history(at(2025, 3, 5), closed=at(2025, 3, 6))
    assert _item13()["points"] == "4"
    last = LedgerEntry.objects.filter(case=tampered).order_by("-seq").first()
    last.payload = {**last.payload, "result": "伪造的办理结果"}
    forged_hash = compute_hash(last.prev_hash, last.hashed_fields(tampered.number))
    behind_the_triggers(
        "UPDATE ledger_ledgerentry SET payload = %s, hash = %s WHERE id = %s",
        [json.dumps(last.payload, ensure_ascii=False), forged_hash, last.pk],
    )
    with pytest.raises(SystemExit):
        call_command("verify_ledger")
    assert f"BROKEN {tampered.number}: entry #{last.seq} is no longer the entry verified" in capsys.readouterr().out
    item = _item13()
    assert item["points"] == "2"
    assert item["incomplete"] == [{"number": tampered.number, "missing": ["ledger_chain"]}]
    # It stays broken: the next pass still finds the head's verified hash gone.
    with pytest.raises(SystemExit):
        call_command("verify_ledger")
    assert _item13()["points"] == "2"


def test_a_deleted_last_entry_is_found_by_the_full_pass(history):
    history(at(2025, 3, 3), closed=at(2025, 3, 4))
    tampered = history(at(2025, 3, 5), closed=at(2025, 3, 6))
    top = LedgerEntry.objects.filter(case=tampered).order_by("-seq").first()
    behind_the_triggers("DELETE FROM ledger_ledgerentry WHERE id = %s", [top.pk])
    with pytest.raises(SystemExit):
        call_command("verify_ledger")
    item = _item13()
    assert item["points"] == "2"
    assert [row["number"] for row in item["incomplete"]] == [tampered.number]
    assert "ledger_chain" in item["incomplete"][0]["missing"]


def test_a_field_rewrite_is_found_by_the_daily_pass(history):
    """The cheap check before scoring does not re-hash unchanged heads; the daily pass does."""
    from django.utils import timezone

    from notifications.ledger_checkpoint import take_daily

    tampered = history(at(2025, 3, 5), closed=at(2025, 3, 6))
    _forge_payload(tampered)
    assert _item13()["points"] == "4"  # not yet seen: the stored hashes all still chain
    take_daily(now=timezone.now())
    assert _item13()["incomplete"] == [{"number": tampered.number, "missing": ["ledger_chain"]}]


def test_broken_chain_that_goes_on_past_the_cutoff_loses_its_complete_verdict(history, county_a):
    """Item 13 reads a chain that goes on past the cutoff from its memoised prefix verdict; a
    broken chain's 'complete' verdict predates the break and must not count."""
    case = history(at(2025, 12, 1), closed=at(2025, 12, 2))
    services.reopen(case, by=county_a, reason="企业不满意", now=at(2025, 12, 23))
    assert _item13()["points"] == "4"
    assert LedgerVerdict.objects.filter(case=case, complete=True).exists()
    _forge_payload(case)
    with pytest.raises(SystemExit):
        call_command("verify_ledger")
    item = _item13()
    assert item["points"] == "2" and item["complete"] == 0
    assert item["incomplete"] == [{"number": case.number, "missing": ["ledger_chain"]}]


def test_reverify_touches_nothing_on_an_honest_ledger(history, django_assert_num_queries):
    history(at(2025, 3, 3), closed=at(2025, 3, 4))
    history(at(2025, 3, 5))
    region_ids = list(LedgerHead.objects.values_list("case__region_id", flat=True).distinct())
    # heads never verified (none), broken heads (none): two queries on partial indexes.
    with django_assert_num_queries(2):
        assert reverify(region_ids, make_scope(2025)) == set()


def test_rebuilt_heads_are_verified_again_before_scoring(history):
    from ledger import heads

    case = history(at(2025, 3, 3), closed=at(2025, 3, 4))
    heads.rebuild()
    assert LedgerHead.objects.get(case=case).verified_seq is None
    assert integrity.stale_case_ids(type(case).objects.all()) == [case.pk]
    assert _item13()["points"] == "4"
    head = LedgerHead.objects.get(case=case)
    assert head.chain_ok is True and head.verified_seq == head.seq


def test_item13_page_and_scoresheet_say_the_ledger_failed_verification(client, assessor, history):
    history(at(2025, 3, 3), closed=at(2025, 3, 4))
    tampered = history(at(2025, 3, 5), closed=at(2025, 3, 6))
    _forge_payload(tampered)
    with pytest.raises(SystemExit):
        call_command("verify_ledger")
    client.force_login(assessor)
    page = client.get("/scoring/2025/411502/items/13/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "台帐校验未通过" in page and tampered.number in page
    assert "台帐校验未通过（哈希链不一致）" in page  # what the case lacks, in words
    sheet = client.get("/scoring/2025/411502/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "台帐校验未通过：1 件" in sheet
