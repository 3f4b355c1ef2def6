"""Each case's ledger head follows its chain entry by entry, equals a rebuild from the entries,
and verify_ledger reports (and --rebuild-heads repairs) a head that does not."""

import pytest
from django.core.management import call_command

from cases import services
from ledger import heads
from ledger.completeness import missing_for_case
from ledger.models import LedgerEntry, LedgerHead
from ledger.verify import HEAD_FIELDS
from tests.conftest import pdf_file


def _head(case):
    return LedgerHead.objects.values(*HEAD_FIELDS).get(case_id=case.pk)


def _expected(case):
    entries = list(LedgerEntry.objects.filter(case=case).order_by("seq"))
    last = entries[-1]
    closings = [e for e in entries if e.action in ("resolve", "explain")]
    reopenings = [e for e in entries if e.action == "reopen"]
    routed = [e for e in entries if e.action in ("assign", "reassign", "return")]
    return {
        "case_id": case.pk,
        "seq": last.seq,
        "last_at": last.occurred_at,
        "close_seq": closings[-1].seq if closings else None,
        "closed_at": closings[-1].occurred_at if closings else None,
        "reopen_seq": reopenings[-1].seq if reopenings else None,
        "due_date": [e.due_date for e in entries if e.due_date][-1],
        "department_id": routed[-1].payload["department"] if routed and routed[-1].action != "return" else None,
    }


def test_head_follows_every_kind_of_entry(make_case, county_a, dept_x, dept_y, dept_x_user, dept_y_user):
    case = make_case()
    assert _head(case) == _expected(case) and _head(case)["department_id"] is None
    steps = [
        lambda c: services.assign(c, by=county_a, department=dept_x),
        lambda c: services.acknowledge(c, by=dept_x_user),
        lambda c: services.return_case(c, by=dept_x_user, reason="不属于本单位职责"),
        lambda c: services.assign(c, by=county_a, department=dept_y),
        lambda c: services.request_extension(c, by=dept_y_user, reason="需协调", days=5),
        lambda c: services.approve_extension(c, by=county_a),
        lambda c: services.resolve(c, by=dept_y_user, result="已解决", evidence=[pdf_file()]),
        lambda c: services.reopen(c, by=county_a, reason="企业不满意"),
        lambda c: services.reassign(c, by=county_a, department=dept_x),
        lambda c: services.explain(
            c,
            by=dept_x_user,
            result="不属于政策范围",
            policy_basis="相关文件",
            redirect_to="市场监督管理局",
            evidence=[pdf_file()],
        ),
    ]
    for step in steps:
        case = step(case)
        assert _head(case) == _expected(case), LedgerEntry.objects.filter(case=case).last().action
        verdict = LedgerHead.objects.values_list("complete", "missing").get(case_id=case.pk)
        missing = missing_for_case(case)
        assert verdict == (not missing, missing)
    head = _head(case)
    assert head["close_seq"] == head["seq"] and head["reopen_seq"] is not None and head["department_id"] == dept_x.pk
    snapshot = _head(case)
    heads.rebuild()
    assert _head(case) == snapshot


def test_rebuild_gives_the_heads_append_kept(make_case, county_a, dept_x, dept_x_user):
    cases = [services.assign(make_case(), by=county_a, department=dept_x) for _ in range(3)]
    services.resolve(
        services.acknowledge(cases[0], by=dept_x_user), by=dept_x_user, result="已解决", evidence=[pdf_file()]
    )
    services.return_case(cases[1], by=dept_x_user, reason="不属于本单位职责")
    kept = {h["case_id"]: h for h in LedgerHead.objects.values(*HEAD_FIELDS)}
    LedgerHead.objects.all().delete()
    assert heads.rebuild(case_ids=[cases[0].pk]) == 1
    assert heads.rebuild() == len(kept)
    assert {h["case_id"]: h for h in LedgerHead.objects.values(*HEAD_FIELDS)} == kept


def test_a_chain_without_a_head_gets_one_rebuilt_on_its_next_entry(assigned_case, dept_x_user):
    LedgerHead.objects.filter(case=assigned_case).delete()
    case = services.acknowledge(assigned_case, by=dept_x_user)
    assert _head(case) == _expected(case)


def test_verify_ledger_reports_a_head_that_disagrees_and_rebuild_heads_repairs_it(assigned_case, dept_y, capsys):
    LedgerHead.objects.filter(case=assigned_case).update(department_id=dept_y.pk)
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_ledger")
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert f"BROKEN {assigned_case.number}: ledger head department_id is {dept_y.pk}" in out
    call_command("verify_ledger", rebuild_heads=True)
    out = capsys.readouterr().out
    assert "Rebuilt 1 ledger heads." in out and "All 1 ledgers verify." in out


def test_verify_ledger_reports_a_missing_head(assigned_case, capsys):
    LedgerHead.objects.filter(case=assigned_case).delete()
    with pytest.raises(SystemExit):
        call_command("verify_ledger")
    assert "no ledger head" in capsys.readouterr().out


def test_a_head_carries_what_its_ledger_lacks(make_case, county_a, dept_x, dept_x_user):
    from django.db import transaction

    from ledger import services as ledger

    case = services.assign(make_case(), by=county_a, department=dept_x)
    with transaction.atomic():  # a closing without evidence, as old imported ledgers have
        ledger.append(
            case,
            action="resolve",
            from_state="assigned",
            to_state="resolved",
            source="import",
            payload={"result": "已解决", "evidence": []},
        )
    assert LedgerHead.objects.values_list("complete", "missing").get(case_id=case.pk) == (False, ["evidence"])


def test_verify_ledger_reports_a_head_verdict_that_disagrees(assigned_case, capsys):
    LedgerHead.objects.filter(case=assigned_case).update(complete=False, missing=["evidence"])
    with pytest.raises(SystemExit):
        call_command("verify_ledger")
    assert "ledger head says the ledger lacks ['evidence'] but it lacks []" in capsys.readouterr().out


def test_rebuilt_heads_are_judged_again_by_scoring(assigned_case):
    from scoring.results import score_year

    heads.rebuild()
    assert LedgerHead.objects.get(case=assigned_case).complete is None
    score_year(assigned_case.year)
    assert LedgerHead.objects.values_list("complete", "missing").get(case=assigned_case) == (True, [])
