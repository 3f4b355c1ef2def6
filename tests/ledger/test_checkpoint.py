"""Checkpoints: a dated commitment to every chain; a later ledger is held against it."""

import gzip
import json

import pytest
from django.core import mail
from django.core.management import call_command

from cases.models import Case
from ledger import checkpoint
from ledger.models import LedgerCheckpoint, LedgerEntry, compute_hash
from tests.tampering import behind_the_triggers


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _take(tmp_path, capsys, name="cp.json"):
    out = tmp_path / name
    call_command("checkpoint_ledger", output=str(out))
    return out, json.loads(capsys.readouterr().out)


def _verify(path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_ledger", checkpoint=str(path))
    return exit_info.value.code, capsys.readouterr().out


def test_checkpoint_prints_stores_and_files_roots_per_region(make_case, tmp_path, capsys):
    first, second = make_case(), make_case()
    path, printed = _take(tmp_path, capsys)
    stored = LedgerCheckpoint.objects.get()
    region = printed["regions"]["411502"]
    assert region["cases"] == 2 and region["last_number"] == second.number
    assert printed["root"] == stored.root and region["root"] == stored.region_root("411502")
    document = json.loads(path.read_text())
    assert [c[0] for c in document["cases"]] == [first.number, second.number]
    assert document["cases"][0][1:] == [1, LedgerEntry.objects.get(case=first, seq=1).hash]
    assert checkpoint.file_problems(document) == []
    # The stored file is the same document, gzip'd, its digest on the row.
    assert json.loads(gzip.decompress((tmp_path / "media" / stored.detail_file).read_bytes())) == document


def test_an_honest_ledger_that_grew_matches_an_older_checkpoint(
    assigned_case, make_case, dept_x_user, tmp_path, capsys
):
    from cases import services

    path, _ = _take(tmp_path, capsys)
    services.acknowledge(assigned_case, by=dept_x_user)
    make_case()
    call_command("verify_ledger", checkpoint=str(path))
    assert "match the checkpoint" in capsys.readouterr().out


def test_deleted_newest_case_is_named_against_the_checkpoint_and_its_number_not_reused(make_case, tmp_path, capsys):
    make_case()
    newest = make_case()
    path, _ = _take(tmp_path, capsys)
    behind_the_triggers("DELETE FROM ledger_ledgerentry WHERE case_id = %s", [newest.pk])
    Case.objects.filter(pk=newest.pk).delete()

    code, out = _verify(path, capsys)
    assert code == 1
    assert f"CHANGED SINCE CHECKPOINT {newest.number}: the case is no longer in the ledger" in out
    # Without a checkpoint the counter still shows the number handed out and now missing.
    with pytest.raises(SystemExit):
        call_command("verify_ledger")
    assert f"MISSING numbers in 411502 {newest.year}: {newest.number}" in capsys.readouterr().out
    assert make_case().serial == newest.serial + 1


def test_rewritten_chain_is_named_even_with_its_hashes_recomputed(assigned_case, tmp_path, capsys):
    path, _ = _take(tmp_path, capsys)
    last = LedgerEntry.objects.filter(case=assigned_case).order_by("-seq").first()
    last.payload = {**last.payload, "department_name": "伪造单位"}
    forged = compute_hash(last.prev_hash, last.hashed_fields(assigned_case.number))
    behind_the_triggers(
        "UPDATE ledger_ledgerentry SET payload = %s, hash = %s WHERE id = %s",
        [json.dumps(last.payload, ensure_ascii=False), forged, last.pk],
    )
    code, out = _verify(path, capsys)
    assert code == 1
    assert f"CHANGED SINCE CHECKPOINT {assigned_case.number}: entry #{last.seq} has changed since the checkpoint" in out
    # The head remembered the hash it verified, so the full pass names it too.
    assert f"BROKEN {assigned_case.number}: entry #{last.seq} is no longer the entry verified" in out


def test_a_checkpoint_file_edited_by_hand_is_reported(make_case, tmp_path, capsys):
    make_case()
    path, _ = _take(tmp_path, capsys)
    document = json.loads(path.read_text())
    document["cases"][0][2] = "0" * 64
    path.write_text(json.dumps(document))
    code, out = _verify(path, capsys)
    assert code == 1 and "does not match its own list of cases" in out


def test_an_unreadable_checkpoint_file_is_a_clear_error(tmp_path):
    from django.core.management import CommandError

    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(CommandError, match="cannot read the checkpoint file"):
        call_command("verify_ledger", checkpoint=str(bad))


def test_checkpoint_is_emailed_to_the_city_office_after_commit(
    make_case, city_user, tmp_path, capsys, django_capture_on_commit_callbacks
):
    city_user.email = "city@example.gov.cn"
    city_user.save()
    make_case()
    with django_capture_on_commit_callbacks(execute=True):
        _, printed = _take(tmp_path, capsys)
    assert [m.to for m in mail.outbox] == [["city@example.gov.cn"]]
    assert printed["root"] in mail.outbox[0].body and printed["regions"]["411502"]["root"] in mail.outbox[0].body


def test_the_embedded_timers_take_one_checkpoint_a_day(make_case, tmp_path):
    from django.utils import timezone

    from notifications.ledger_checkpoint import take_if_due

    make_case()
    now = timezone.now()
    assert take_if_due(now=now) is not None
    assert take_if_due(now=now) is None
    assert LedgerCheckpoint.objects.count() == 1


def test_beat_schedules_the_daily_checkpoint(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["ledger-checkpoint"]
    assert entry["task"] == "notifications.ledger_checkpoint"
