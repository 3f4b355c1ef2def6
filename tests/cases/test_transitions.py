"""Every transition × every role: who may, who may not, and the ledger entry each writes."""

import pytest

from cases import services
from cases.errors import InvalidInput, NotAllowed, NotFound, WrongState
from cases.models import Case, State
from ledger.models import LedgerEntry
from tests.conftest import pdf_file

ROLES = ["county_a", "county_b", "city_user", "assessor", "dept_x_user", "dept_y_user", "dept_z_user"]


@pytest.fixture
def users(request):
    return {name: request.getfixturevalue(name) for name in ROLES}


@pytest.fixture
def received(make_case):
    return make_case()


@pytest.fixture
def closed(assigned_case, dept_x_user):
    return services.resolve(assigned_case, by=dept_x_user, result="已协调解决", evidence=[pdf_file()])


def _attempt(action, case, user, dept_x, dept_y):
    if action == "assign":
        return services.assign(case, by=user, department=dept_x)
    if action == "reassign":
        return services.reassign(case, by=user, department=dept_y)
    if action == "acknowledge":
        return services.acknowledge(case, by=user)
    if action == "return":
        return services.return_case(case, by=user, reason="不属本单位职责", suggested_department="县市场监管局")
    if action == "resolve":
        return services.resolve(case, by=user, result="已协调解决", evidence=[pdf_file()])
    if action == "explain":
        return services.explain(
            case,
            by=user,
            result="不属政策范围",
            policy_basis="豫政办〔2012〕148号",
            redirect_to="县市场监管局",
            evidence=[pdf_file()],
        )
    if action == "reopen":
        return services.reopen(case, by=user, reason="企业不满意")
    if action == "follow_up":
        return services.record_follow_up(case, by=user, satisfaction="satisfied", note="电话回访")
    raise AssertionError(action)


# (action, starting case fixture, allowed roles, roles that cannot even see the case → 404,
#  resulting state, ledger action)
MATRIX = [
    (
        "assign",
        "received",
        {"county_a", "city_user"},
        {"county_b", "dept_x_user", "dept_y_user", "dept_z_user"},
        State.ASSIGNED,
        "assign",
    ),
    (
        "reassign",
        "assigned_case",
        {"county_a", "city_user"},
        {"county_b", "dept_y_user", "dept_z_user"},
        State.ASSIGNED,
        "reassign",
    ),
    (
        "acknowledge",
        "assigned_case",
        {"dept_x_user"},
        {"county_b", "dept_y_user", "dept_z_user"},
        State.ASSIGNED,
        "acknowledge",
    ),
    ("return", "assigned_case", {"dept_x_user"}, {"county_b", "dept_y_user", "dept_z_user"}, State.RECEIVED, "return"),
    (
        "resolve",
        "assigned_case",
        {"dept_x_user"},
        {"county_b", "dept_y_user", "dept_z_user"},
        State.RESOLVED,
        "resolve",
    ),
    (
        "explain",
        "assigned_case",
        {"dept_x_user"},
        {"county_b", "dept_y_user", "dept_z_user"},
        State.EXPLAINED,
        "explain",
    ),
    (
        "reopen",
        "closed",
        {"county_a", "city_user"},
        {"county_b", "dept_y_user", "dept_z_user"},
        State.ASSIGNED,
        "reopen",
    ),
    (
        "follow_up",
        "closed",
        {"county_a", "city_user"},
        {"county_b", "dept_y_user", "dept_z_user"},
        State.RESOLVED,
        "follow_up",
    ),
]


@pytest.mark.parametrize("action, start, allowed, hidden, end_state, entry", MATRIX, ids=[m[0] for m in MATRIX])
@pytest.mark.parametrize("role", ROLES)
def test_transition_by_role(request, users, dept_x, dept_y, action, start, allowed, hidden, end_state, entry, role):
    case = request.getfixturevalue(start)
    before_state = Case.objects.get(pk=case.pk).state
    before_entries = LedgerEntry.objects.filter(case=case).count()
    user = users[role]
    if role in allowed:
        result = _attempt(action, case, user, dept_x, dept_y)
        assert result.state == end_state
        last = LedgerEntry.objects.filter(case=case).order_by("-seq").first()
        assert last.action == entry
        assert last.seq == before_entries + 1
        assert last.actor == user
        assert last.from_state == before_state and last.to_state == end_state
        assert LedgerEntry.objects.filter(case=case).count() == before_entries + 1
    else:
        expected = NotFound if role in hidden else NotAllowed
        with pytest.raises(expected):
            _attempt(action, case, user, dept_x, dept_y)
        assert Case.objects.get(pk=case.pk).state == before_state
        assert LedgerEntry.objects.filter(case=case).count() == before_entries


WRONG_STATE = [
    ("assign", "assigned_case", "county_a"),
    ("reassign", "received", "county_a"),
    ("reopen", "received", "county_a"),
    ("reopen", "assigned_case", "county_a"),
    ("follow_up", "assigned_case", "county_a"),
    ("acknowledge", "closed", "dept_x_user"),
    ("resolve", "closed", "dept_x_user"),
    ("explain", "closed", "dept_x_user"),
    ("return", "closed", "dept_x_user"),
]


@pytest.mark.parametrize("action, start, role", WRONG_STATE)
def test_transition_from_the_wrong_state_is_refused_and_changes_nothing(
    request, users, dept_x, dept_y, action, start, role
):
    case = request.getfixturevalue(start)
    entries = LedgerEntry.objects.filter(case=case).count()
    state = Case.objects.get(pk=case.pk).state
    with pytest.raises(WrongState):
        _attempt(action, case, users[role], dept_x, dept_y)
    assert Case.objects.get(pk=case.pk).state == state
    assert LedgerEntry.objects.filter(case=case).count() == entries


def test_acknowledging_twice_is_refused(assigned_case, dept_x_user):
    services.acknowledge(assigned_case, by=dept_x_user)
    with pytest.raises(WrongState):
        services.acknowledge(assigned_case, by=dept_x_user)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"result": ""}, "result"),
        ({"policy_basis": " "}, "policy_basis"),
        ({"redirect_to": ""}, "redirect_to"),
        ({"evidence": []}, "evidence"),
    ],
)
def test_explain_requires_text_basis_redirect_and_evidence(assigned_case, dept_x_user, kwargs, field):
    fields = dict(result="不属本单位职责", policy_basis="某文件", redirect_to="县市场监管局", evidence=[pdf_file()])
    fields.update(kwargs)
    with pytest.raises(InvalidInput) as info:
        services.explain(assigned_case, by=dept_x_user, **fields)
    assert info.value.field == field
    assert LedgerEntry.objects.filter(case=assigned_case).count() == 2


def test_return_requires_a_reason(assigned_case, dept_x_user):
    with pytest.raises(InvalidInput):
        services.return_case(assigned_case, by=dept_x_user, reason="  ")


def test_reopen_requires_a_reason(closed, county_a):
    with pytest.raises(InvalidInput):
        services.reopen(closed, by=county_a, reason="")


def test_returned_case_goes_back_to_the_office_and_the_department_still_sees_it(assigned_case, dept_x_user):
    case = services.return_case(assigned_case, by=dept_x_user, reason="不属本单位职责")
    assert case.state == State.RECEIVED and case.department is None
    assert Case.objects.for_user(dept_x_user).filter(pk=case.pk).exists()
    entry = LedgerEntry.objects.filter(case=case).order_by("-seq").first()
    assert entry.payload["reason"] == "不属本单位职责"


def test_assign_to_another_countys_department_is_refused(received, county_a, dept_z):
    with pytest.raises(InvalidInput) as info:
        services.assign(received, by=county_a, department=dept_z)
    assert info.value.field == "department"


def test_city_department_takes_any_countys_case(received, county_a, city_dept):
    case = services.assign(received, by=county_a, department=city_dept)
    assert case.department == city_dept


def test_reopened_case_returns_to_its_department_and_keeps_the_first_closing_in_the_ledger(
    closed, county_a, dept_x_user
):
    case = services.reopen(closed, by=county_a, reason="企业不满意")
    assert case.state == State.ASSIGNED and case.closed_at is None and case.reopen_count == 1
    case = services.resolve(case, by=dept_x_user, result="再次协调，已解决", evidence=[pdf_file()])
    actions = list(LedgerEntry.objects.filter(case=case).values_list("action", flat=True))
    assert actions == ["create", "assign", "resolve", "reopen", "resolve"]


def test_creation_validates_input(make_case, county_a):
    import datetime as dt

    from django.utils import timezone

    with pytest.raises(InvalidInput) as info:
        make_case(credit_code_value="914115683BJ1XG612X")
    assert info.value.field == "credit_code"
    with pytest.raises(InvalidInput) as info:
        make_case(description="")
    assert info.value.field == "description"
    with pytest.raises(InvalidInput) as info:
        make_case(received_at=timezone.now() + dt.timedelta(hours=1))
    assert info.value.field == "received_at"
    with pytest.raises(InvalidInput) as info:
        make_case(enterprise_name=" ")
    assert info.value.field == "enterprise_name"
    assert Case.objects.count() == 0 and LedgerEntry.objects.count() == 0


def test_county_office_cannot_log_a_case_for_another_county(make_case, region_b):
    with pytest.raises(NotAllowed):
        make_case(region=region_b)


def test_numbers_run_per_region_and_year(make_case, county_b, region_b):
    import datetime as dt

    from django.utils import timezone

    first = make_case()
    second = make_case()
    other = make_case(by=county_b, region=region_b)
    last_year = make_case(received_at=timezone.now() - dt.timedelta(days=400))
    year = timezone.localdate().year
    assert first.number == f"411502-{year}-00001"
    assert second.number == f"411502-{year}-00002"
    assert other.number == f"411503-{year}-00001"
    assert last_year.number.endswith("-00001") and last_year.year < year


@pytest.mark.parametrize(
    "name, content",
    [
        ("恶意程序.pdf", b"MZ\x90\x00" + b"\x00" * 100),
        (".htaccess.pdf", b"%PDF-1.4 x"),
        ("空文件.pdf", b""),
        ("说明.txt", b"%PDF-1.4 x"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_written(assigned_case, dept_x_user, name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    with pytest.raises(InvalidInput) as info:
        services.resolve(
            assigned_case,
            by=dept_x_user,
            result="已解决",
            evidence=[SimpleUploadedFile(name, content, content_type="application/pdf")],
        )
    assert info.value.field == "evidence"
    assert Case.objects.get(pk=assigned_case.pk).state == State.ASSIGNED
    assert LedgerEntry.objects.filter(case=assigned_case).count() == 2


def test_oversized_upload_is_refused(assigned_case, dept_x_user, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.EVIDENCE_MAX_BYTES = 1000
    big = SimpleUploadedFile("大文件.pdf", b"%PDF-1.4\n" + b"0" * 2000, content_type="application/pdf")
    with pytest.raises(InvalidInput) as info:
        services.resolve(assigned_case, by=dept_x_user, result="已解决", evidence=[big])
    assert "too large" in info.value.message or "过大" in info.value.message


def test_evidence_is_stored_under_a_generated_name(assigned_case, dept_x_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case = services.resolve(assigned_case, by=dept_x_user, result="已解决", evidence=[pdf_file("情况说明.pdf")])
    item = case.evidence.get()
    assert item.original_name == "情况说明.pdf"
    assert "情况说明" not in item.file.name and item.file.name.endswith(".pdf")
    assert item.content_type == "application/pdf" and len(item.sha256) == 64


def test_a_refused_closing_leaves_no_file_behind(assigned_case, dept_y_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    with pytest.raises(NotFound):  # the files are written before the case is locked and checked
        services.resolve(assigned_case, by=dept_y_user, result="已解决", evidence=[pdf_file(), pdf_file("二.pdf")])
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_path_in_an_uploaded_name_never_reaches_the_disk(assigned_case, dept_x_user, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path / "media"
    upload = SimpleUploadedFile("../../etc/passwd.pdf", b"%PDF-1.4 x", content_type="application/pdf")
    case = services.resolve(assigned_case, by=dept_x_user, result="已解决", evidence=[upload])
    item = case.evidence.get()
    assert "/" not in item.original_name and ".." not in item.original_name
    assert (tmp_path / "media" / item.file.name).resolve().is_relative_to((tmp_path / "media").resolve())
    assert not (tmp_path / "etc").exists()


def test_routing_and_returning_put_a_message_in_the_right_inboxes(
    make_case, county_a, dept_x, dept_x_user, django_capture_on_commit_callbacks
):
    from notifications.models import Notification

    with django_capture_on_commit_callbacks(execute=True):
        case = services.assign(make_case(), by=county_a, department=dept_x)
    assert list(Notification.objects.filter(kind="assigned").values_list("user__username", flat=True)) == ["dept_x"]
    with django_capture_on_commit_callbacks(execute=True):
        services.return_case(case, by=dept_x_user, reason="不属本单位职责")
    returned = Notification.objects.get(kind="returned")
    assert returned.user == county_a and returned.case_id == case.pk


@pytest.mark.django_db(transaction=True)
def test_closings_with_evidence_commit_their_ledger_entry_in_the_same_transaction(
    make_case, county_a, dept_x, dept_x_user, settings, tmp_path
):
    """Outside a test's wrapping transaction (as in production): the files are written first,
    then the state change, the evidence rows and the ledger entry commit together."""
    settings.MEDIA_ROOT = tmp_path
    resolved = services.assign(make_case(), by=county_a, department=dept_x)
    resolved = services.resolve(resolved, by=dept_x_user, result="已解决", evidence=[pdf_file()])
    explained = services.assign(make_case(), by=county_a, department=dept_x)
    services.add_evidence(explained, by=dept_x_user, evidence=[pdf_file("补充.pdf")])
    explained = services.explain(
        explained,
        by=dept_x_user,
        result="不属于政策范围",
        policy_basis="相关文件",
        redirect_to="市场监督管理局",
        evidence=[pdf_file()],
    )
    actions = [
        list(LedgerEntry.objects.filter(case=c).order_by("seq").values_list("action", flat=True))
        for c in (resolved, explained)
    ]
    assert actions == [["create", "assign", "resolve"], ["create", "assign", "evidence", "explain"]]
