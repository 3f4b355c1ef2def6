"""Full-text search of cases: words, ranking, scope, filters, the index kept on write, the page."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from cases import services
from cases.models import Case, Category, Enterprise
from cases.search.models import SearchDocument
from cases.search.query import parse, search
from tests.conftest import pdf_file

pytestmark = pytest.mark.django_db

POWER = "企业扩大生产需要用电增容，申请报装两个月未批复"


def numbers(queryset) -> list[str]:
    return list(queryset.values_list("number", flat=True))


def found(user, text) -> list[str]:
    return numbers(search(Case.objects.for_user(user), text))


# -- words and ranking ---------------------------------------------------------------------------


def test_a_word_inside_a_term_finds_the_case_and_an_unrelated_case_is_left_out(make_case, county_a):
    power = make_case(description=POWER)
    make_case(description="稳岗补贴申领材料被退回")
    assert found(county_a, "增容") == [power.number]
    assert found(county_a, "用电增容") == [power.number]
    assert found(county_a, "电费") == []


def test_every_word_of_the_query_must_occur(make_case, county_a):
    both = make_case(description="用电增容和稳岗补贴都没有落实")
    make_case(description=POWER)
    assert found(county_a, "增容 稳岗补贴") == [both.number]


def test_more_occurrences_in_a_shorter_text_rank_first(make_case, county_a):
    once = make_case(
        description="企业新建厂房、购置设备、招聘工人、办理环评、申请贷款，另有用电增容事项，情况复杂需多部门协调"
    )
    twice = make_case(description="用电增容申请未批复，增容容量不足")
    assert found(county_a, "增容") == [twice.number, once.number]


def test_the_enterprise_name_weighs_more_than_the_text(make_case, county_a):
    in_text = make_case(description="我们是一家纺织配套企业，反映园区道路问题")
    in_name = make_case(
        enterprise_name="信阳纺织有限公司", credit_code_value="91411502MA46H6U16W", description="园区道路未贯通影响运输"
    )
    assert found(county_a, "纺织") == [in_name.number, in_text.number]


def test_results_and_explanations_are_searchable_once_written(assigned_case, dept_x_user, county_a, make_case):
    assert found(county_a, "变压器") == []
    services.resolve(assigned_case, by=dept_x_user, result="已协调供电公司更换变压器", evidence=[pdf_file()])
    assert found(county_a, "变压器") == [assigned_case.number]
    other = services.assign(make_case(), by=county_a, department=assigned_case.department)
    services.explain(
        other,
        by=dept_x_user,
        result="不属于补贴范围",
        policy_basis="豫政〔2024〕12号文件",
        redirect_to="市场监督管理局",
        evidence=[pdf_file()],
    )
    assert found(county_a, "市场监督管理局") == [other.number]
    assert found(county_a, "豫政") == [other.number]


def test_a_rolled_back_write_leaves_the_index_as_it_was(assigned_case, dept_x_user, county_a):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.resolve(assigned_case, by=dept_x_user, result="已协调供电公司更换变压器", evidence=[pdf_file()])
        assert found(county_a, "变压器") == [assigned_case.number]  # same transaction: already indexed
        raise RuntimeError("the caller's transaction fails after the service")
    assert found(county_a, "变压器") == []
    assert found(county_a, "季节性用工") == [assigned_case.number]


def test_a_renamed_enterprise_is_found_by_its_new_name_in_its_earlier_cases(make_case, county_a):
    first = make_case(enterprise_name="信阳茶业有限公司", credit_code_value="91411502MA46H6U16W")
    second = make_case(enterprise_name="信阳毛尖集团有限公司", credit_code_value="91411502MA46H6U16W")
    assert Enterprise.objects.get(credit_code="91411502MA46H6U16W").name == "信阳毛尖集团有限公司"
    assert set(found(county_a, "毛尖")) == {first.number, second.number}
    assert found(county_a, "茶业") == []


def test_reindex_search_rebuilds_every_row(make_case, county_a, capsys):
    power = make_case(description=POWER)
    SearchDocument.objects.all().delete()
    assert found(county_a, "增容") == []
    call_command("reindex_search")
    assert "indexed 1 cases" in capsys.readouterr().out
    assert found(county_a, "增容") == [power.number]


# -- exact identifiers ---------------------------------------------------------------------------


def test_a_full_case_number_or_credit_code_selects_exactly(make_case, county_a):
    first = make_case(credit_code_value="91411502MA46H6U16W", enterprise_name="信阳纺织有限公司")
    second = make_case()
    third = make_case(credit_code_value="91411502MA46H6U16W", enterprise_name="信阳纺织有限公司")
    assert parse(second.number).number == second.number
    assert found(county_a, second.number) == [second.number]
    assert found(county_a, "91411502ma46h6u16w") == [third.number, first.number]
    assert found(county_a, "00002") == [second.number]  # a part of a number is a word too


# -- scope -----------------------------------------------------------------------------------------


def test_another_countys_cases_never_match(make_case, county_a, county_b, region_b):
    mine = make_case(description=POWER)
    theirs = make_case(by=county_b, region=region_b, description=POWER, credit_code_value="91411502MA46H6U16W")
    assert found(county_a, "用电增容") == [mine.number]
    assert found(county_b, "用电增容") == [theirs.number]
    assert found(county_a, theirs.number) == []
    assert found(county_a, "91411502MA46H6U16W") == []


def test_a_department_finds_only_cases_routed_to_it(make_case, county_a, dept_x, dept_y_user):
    services.assign(make_case(description=POWER), by=county_a, department=dept_x)
    assert found(dept_y_user, "增容") == []


def _documents_name_their_departments() -> None:
    """Each document names exactly the departments of its case's DepartmentCase rows."""
    from cases.models import DepartmentCase

    routed: dict[int, set[int]] = {}
    for case_id, department_id in DepartmentCase.objects.values_list("case_id", "department_id"):
        routed.setdefault(case_id, set()).add(department_id)
    for case_id, departments in SearchDocument.objects.values_list("case_id", "departments"):
        assert departments == " ".join(str(pk) for pk in sorted(routed.get(case_id, ()))), case_id


def test_a_departments_search_is_narrowed_by_the_departments_every_routing_names(
    client, make_case, county_a, dept_x, dept_y, dept_x_user, dept_y_user
):
    """Every routing writes the case's departments to its document (the department's search is
    narrowed by them first on PostgreSQL); a department finds what its scope holds, no more, no
    fewer — through the 台帐 and the API — and reindex_search writes the same."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    case = make_case(description=POWER)
    other = make_case(description="用电增容报装")
    _documents_name_their_departments()
    assert SearchDocument.objects.get(case=case).departments == ""
    services.assign(case, by=county_a, department=dept_x)
    services.return_case(case, by=dept_x_user, reason="非本单位职责")
    services.assign(case, by=county_a, department=dept_y)
    services.assign(other, by=county_a, department=dept_y)
    _documents_name_their_departments()
    assert SearchDocument.objects.get(case=case).departments == " ".join(str(d) for d in sorted([dept_x.pk, dept_y.pk]))
    assert found(dept_x_user, "增容") == [case.number]  # returned by x: still in x's scope
    assert sorted(found(dept_y_user, "增容")) == sorted([case.number, other.number])
    services.reassign(other, by=county_a, department=dept_x)
    services.acknowledge(other, by=dept_x_user)
    services.resolve(other, by=dept_x_user, result="已协调供电公司增容", evidence=[pdf_file()])
    services.reopen(other, by=county_a, reason="企业不满意")
    _documents_name_their_departments()
    assert sorted(found(dept_x_user, "增容")) == sorted([case.number, other.number])

    SearchDocument.objects.update(departments="")
    call_command("reindex_search", stdout=open("/dev/null", "w"))
    _documents_name_their_departments()

    for user in (dept_x_user, dept_y_user):
        client.force_login(user)
        scope = Case.objects.for_user(user)
        expected = sorted(c.number for c in scope if "增容" in c.description + c.result)
        with CaptureQueriesContext(connection) as captured:
            page = client.get(reverse("cases:ledger"), {"q": "增容"})
        assert sorted(row.record.number for row in page.context["table"].page.object_list) == expected
        if connection.vendor == "postgresql":
            assert any("department_ids" in q["sql"] for q in captured.captured_queries)
        listed = client.get("/api/v1/cases/", {"q": "增容"}).json()
        assert sorted(row["number"] for row in listed["results"]) == expected


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_routing_during_a_reindex_is_not_overwritten(make_case, county_a, dept_x, dept_y, dept_y_user, monkeypatch):
    """A routing that commits while reindex_search rebuilds its case's row: the batch has locked the
    case as it read it, so the routing waits for the batch and writes its department after it —
    the department still finds the case (before, the batch wrote the departments it had read)."""
    import threading

    from django.db import connections

    from cases.search import index

    case = make_case(description=POWER)
    services.assign(case, by=county_a, department=dept_x)
    original = index._departments_of
    main = threading.get_ident()
    routings = []

    def read_then_route(case_ids, **kwargs):
        found = original(case_ids, **kwargs)  # the batch has read the rows...
        if threading.get_ident() == main and not routings:

            def route():  # ...and a routing of its case starts before it writes them
                try:
                    services.reassign(case.pk, by=county_a, department=dept_y)
                finally:
                    connections.close_all()

            routings.append(threading.Thread(target=route))
            routings[0].start()
            routings[0].join(timeout=1.0)
            assert routings[0].is_alive()  # waiting for the batch's lock on the case
        return found

    monkeypatch.setattr(index, "_departments_of", read_then_route)
    call_command("reindex_search", stdout=open("/dev/null", "w"))
    routings[0].join(timeout=30)
    assert not routings[0].is_alive()
    monkeypatch.setattr(index, "_departments_of", original)
    _documents_name_their_departments()
    assert found(dept_y_user, "增容") == [case.number]


# -- the 台帐 page -------------------------------------------------------------------------------


def test_the_ledger_search_combines_with_its_filters_and_marks_the_words(client, make_case, county_a, dept_x):
    routed = services.assign(make_case(description=POWER), by=county_a, department=dept_x)
    waiting = make_case(description="二期工程用电增容")
    make_case(description="稳岗补贴申领困难")
    client.force_login(county_a)
    page = client.get(reverse("cases:ledger"), {"q": "增容"}).content.decode()
    assert routed.number in page and waiting.number in page and "稳岗补贴" not in page
    assert "用电<mark>增容</mark>" in page
    filtered = client.get(reverse("cases:ledger"), {"q": "增容", "state": "received"}).content.decode()
    assert waiting.number in filtered and routed.number not in filtered
    by_department = client.get(reverse("cases:ledger"), {"q": "增容", "department": dept_x.pk}).content.decode()
    assert routed.number in by_department and waiting.number not in by_department


def test_search_results_are_drawn_as_the_ledger_is(client, make_case, county_a):
    """The same table as the 台帐 (its template, class, 50 rows a page, the rows written by
    body_html), with the words marked: a subclass of a django-tables2 table takes none of its
    parent's options unless its own Meta says so."""
    for n in range(55):
        make_case(description=f"二期工程用电增容第{n}号")
    client.force_login(county_a)
    response = client.get(reverse("cases:ledger"), {"q": "增容"})
    page = response.content.decode()
    assert "cases/ledger_table.html" in [template.name for template in response.templates]
    assert '<table class="ledger-table">' in page
    assert page.count("<mark>增容</mark>") == 50
    assert response.context["table"].paginator.per_page == 50


def test_markup_in_a_description_is_shown_as_text_around_the_marks(client, make_case, county_a):
    make_case(description='<script>alert("x")</script><b>用电增容</b> & <img src=x onerror=alert(1)>')
    client.force_login(county_a)
    page = client.get(reverse("cases:ledger"), {"q": "增容"}).content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>用电" not in page
    assert "&lt;b&gt;用电<mark>增容</mark>&lt;/b&gt; &amp; &lt;img src=x onerror" in page


def test_highlighting_escapes_every_piece_and_marks_only_the_words():
    from cases.search.highlight import highlight

    text = '<script>alert("增容")</script>用电增容'
    assert str(highlight(text, ["增容", "用电增容"])) == (
        "&lt;script&gt;alert(&quot;<mark>增容</mark>&quot;)&lt;/script&gt;<mark>用电增容</mark>"
    )
    assert str(highlight("甲" * 50 + "增容" + "乙" * 50, ["增容"], width=20)) == (
        "…" + "甲" * 6 + "<mark>增容</mark>" + "乙" * 12 + "…"
    )


def test_a_full_case_number_goes_straight_to_the_case_but_not_across_counties(
    client, make_case, county_a, county_b, region_b
):
    mine = make_case()
    theirs = make_case(by=county_b, region=region_b)
    client.force_login(county_a)
    response = client.get(reverse("cases:ledger"), {"q": mine.number})
    assert response.status_code == 302 and response["Location"] == reverse("cases:detail", args=[mine.pk])
    response = client.get(reverse("cases:ledger"), {"q": theirs.number})
    assert response.status_code == 200 and f">{theirs.number}</a>" not in response.content.decode()


def test_a_full_credit_code_lists_the_enterprises_cases(client, make_case, county_a):
    first = make_case(credit_code_value="91411502MA46H6U16W", enterprise_name="信阳纺织有限公司")
    other = make_case()
    client.force_login(county_a)
    page = client.get(reverse("cases:ledger"), {"q": "91411502MA46H6U16W"}).content.decode()
    assert first.number in page and other.number not in page
    assert "信阳纺织有限公司（91411502MA46H6U16W）" in page


def test_the_search_page_reads_a_bounded_number_of_queries(client, make_case, county_a, django_assert_max_num_queries):
    for index in range(30):
        make_case(description=f"第{index}号车间用电增容")
    client.force_login(county_a)
    # session, user, profile, the filter's region and department choices, the enterprise lookup
    # (none here), count, page rows, and the header's unread count.
    with django_assert_max_num_queries(12):
        response = client.get(reverse("cases:ledger"), {"q": "增容"})
    assert response.content.decode().count("<mark>增容</mark>") == 30


def test_the_header_search_box_is_on_every_page(client, county_a):
    client.force_login(county_a)
    page = client.get(reverse("home")).content.decode()
    assert f'action="{reverse("cases:ledger")}"' in page and 'name="q"' in page


# -- the API ---------------------------------------------------------------------------------------


def test_the_api_searches_best_first_with_the_other_filters(client, make_case, county_a, county_b, region_b, dept_x):
    once = make_case(description="企业新建厂房、购置设备、招聘工人、办理环评、申请贷款，另有用电增容事项需协调")
    twice = services.assign(make_case(description="用电增容申请未批复，增容容量不足"), by=county_a, department=dept_x)
    make_case(by=county_b, region=region_b, description=POWER)
    client.force_login(county_a)
    body = client.get("/api/v1/cases/", {"q": "增容"}).json()
    assert [c["number"] for c in body["results"]] == [twice.number, once.number] and body["count"] == 2
    body = client.get("/api/v1/cases/", {"q": "增容", "state": "received"}).json()
    assert [c["number"] for c in body["results"]] == [once.number]
    # A long query is not refused: its first twelve words are searched.
    assert client.get("/api/v1/cases/", {"q": "用电增容 " * 300}).json()["count"] == 2


def test_the_schema_documents_the_search_parameter(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    parameters = schema["paths"]["/api/v1/cases/"]["get"]["parameters"]
    assert any(p["name"] == "q" and "jieba" in p["description"] for p in parameters)


# -- a labelled set: queries and the cases they must find ---------------------------------------

LABELLED_CASES = {
    "power": ("信阳纺织有限公司", "factors", "扩大生产需要用电增容，变压器容量不足，报装两个月未批复"),
    "outage": ("罗山建材有限公司", "factors", "生产线频繁停电，供电线路老化需要改造"),
    "vat": ("光山食品有限公司", "burden", "申请增值税留抵退税三个月未到账"),
    "rd": ("新县电子有限公司", "policy", "研发费用加计扣除政策不清楚，希望税务部门辅导"),
    "subsidy": ("商城服装有限公司", "labour", "稳岗补贴申领材料被退回"),
    "hiring": ("固始机械有限公司", "labour", "季节性用工缺口约80人，希望组织用工对接招聘会"),
    "loan": ("潢川化工有限公司", "finance", "流动资金贷款续贷审批周期过长，希望银企对接"),
    "guarantee": ("淮滨家居有限公司", "finance", "担保公司反担保要求过严，抵押物评估费用偏高"),
    "market": ("息县茶业有限公司", "market", "希望产销对接进入省内大型商超渠道"),
    "permit": ("平桥物流有限公司", "approval", "厂房扩建施工许可办理时限过长"),
    "eia": ("浉河新材料有限公司", "approval", "环评审批材料反复补正，排污许可未发放"),
    "land": ("信阳农业科技有限公司", "factors", "用地指标不足，标准化厂房建设停滞"),
}
LABELLED_QUERIES = {
    "增容": {"power"},
    "停电": {"outage"},
    "留抵退税": {"vat"},
    "退税": {"vat"},
    "加计扣除": {"rd"},
    "补贴": {"subsidy"},
    "用工对接": {"hiring"},
    "续贷": {"loan"},
    "贷款": {"loan"},
    "抵押物": {"guarantee"},
    "银企对接": {"loan"},
    "产销对接": {"market"},
    "施工许可": {"permit"},
    "许可": {"permit", "eia"},
    "环评": {"eia"},
    "厂房": {"permit", "land"},
    "纺织": {"power"},
    "供电 线路": {"outage"},
    "茶业": {"market"},
}


def test_the_labelled_queries_find_exactly_their_cases(make_case, county_a):
    from cases.credit_code import ALPHABET, check_character

    made = {}
    for index, (key, (enterprise, category, text)) in enumerate(LABELLED_CASES.items()):
        first17 = "91411502MA46H6U1" + ALPHABET[index]
        made[key] = make_case(
            enterprise_name=enterprise,
            credit_code_value=first17 + check_character(first17),
            category=Category.objects.get(code=category),
            description=text,
        ).number
    for query, expected in LABELLED_QUERIES.items():
        assert set(found(county_a, query)) == {made[key] for key in expected}, query
