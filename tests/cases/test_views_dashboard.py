"""The dashboard's queue per role, and the evidence download."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from cases import services
from cases.models import Evidence
from cases.uploads import EvidenceReference
from tests.conftest import PDF_BYTES, pdf_file

pytestmark = pytest.mark.django_db

TZ = dt.timezone(dt.timedelta(hours=8))


def section(body: str, key: str) -> str:
    start = body.index(f'id="queue-{key}"')
    return body[start:body.index("</section>", start)]


def test_county_office_queue(client, make_case, county_a, dept_x, dept_x_user):
    with time_machine.travel(dt.datetime(2025, 3, 3, 9, 0, tzinfo=TZ), tick=False):
        to_route = make_case(enterprise_name="待交办企业")
        returned = services.assign(make_case(enterprise_name="退单企业"), by=county_a, department=dept_x)
        services.return_case(returned, by=dept_x_user, reason="不属于本单位")
        late = services.assign(make_case(enterprise_name="逾期企业"), by=county_a, department=dept_x)
        closed = services.assign(make_case(enterprise_name="待回访企业"), by=county_a, department=dept_x)
        services.resolve(closed, by=dept_x_user, result="已解决", evidence=[pdf_file()])
    with time_machine.travel(dt.datetime(2025, 3, 7, 9, 0, tzinfo=TZ), tick=False):
        soon = services.assign(make_case(enterprise_name="临期企业"), by=county_a, department=dept_x)
    with time_machine.travel(dt.datetime(2025, 3, 12, 9, 0, tzinfo=TZ), tick=False):
        client.force_login(county_a)
        body = client.get(reverse("cases:dashboard")).content.decode()
    assert to_route.number in section(body, "to_route") and returned.number not in section(body, "to_route")
    assert returned.number in section(body, "returned")
    assert late.number in section(body, "overdue") and soon.number not in section(body, "overdue")  # due 03-10
    assert soon.number in section(body, "due_soon")  # due 03-14, within 2 working days of 03-12
    assert late.number in section(body, "unacknowledged")
    assert closed.number in section(body, "follow_up")
    assert "登记新问题" in body


def test_department_queue_lists_unacknowledged_first(client, make_case, county_a, dept_x, dept_y, dept_x_user):
    first = services.assign(make_case(), by=county_a, department=dept_x)
    second = services.assign(make_case(), by=county_a, department=dept_x)
    other = services.assign(make_case(), by=county_a, department=dept_y)
    services.acknowledge(first, by=dept_x_user)
    client.force_login(dept_x_user)
    body = section(client.get(reverse("cases:dashboard")).content.decode(), "assigned")
    assert body.index(second.number) < body.index(first.number)
    assert other.number not in body


def test_assessor_dashboard_links_to_the_ledger(client, make_case, assessor):
    make_case()
    client.force_login(assessor)
    body = client.get(reverse("cases:dashboard")).content.decode()
    assert reverse("cases:ledger") in body and "各状态案件数" in body


# -- evidence download ------------------------------------------------------------------------

@pytest.fixture
def evidence(assigned_case, dept_x_user):
    services.resolve(assigned_case, by=dept_x_user, result="已解决", evidence=[pdf_file("办理情况说明.pdf")])
    return Evidence.objects.get(case=assigned_case)


def test_download_is_an_attachment_with_the_original_name(client, county_a, evidence):
    client.force_login(county_a)
    response = client.get(reverse("cases:evidence_download", args=[evidence.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''%E5%8A%9E" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_download_through_nginx_when_configured(client, county_a, evidence, settings):
    settings.EVIDENCE_X_ACCEL_PREFIX = "/_evidence/"
    client.force_login(county_a)
    response = client.get(reverse("cases:evidence_download", args=[evidence.pk]))
    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == f"/_evidence/{evidence.file.name}"
    assert response["Content-Disposition"].startswith("attachment;")


def test_reference_only_evidence_has_nothing_to_download(client, county_a, assigned_case, dept_x_user):
    services.resolve(assigned_case, by=dept_x_user, result="已解决", evidence=[EvidenceReference("信发改〔2025〕3号")])
    item = Evidence.objects.get(case=assigned_case)
    client.force_login(county_a)
    response = client.get(reverse("cases:evidence_download", args=[item.pk]))
    assert response.status_code == 404
    assert "仅登记了名称" in response.content.decode()
    page = client.get(reverse("cases:detail", args=[assigned_case.pk])).content.decode()
    assert "信发改〔2025〕3号" in page and "仅有名称" in page


def test_detail_shows_completeness_and_timeline_in_chinese(client, county_a, evidence):
    client.force_login(county_a)
    body = client.get(reverse("cases:detail", args=[evidence.case_id])).content.decode()
    assert "台帐完整" in body and "按期办结" in body
    timeline = body[body.index('id="timeline"'):]
    for label in ("受理", "交办", "办结", "已交办 → 已解决", "网页", "办理情况说明.pdf"):
        assert label in timeline, label
    assert evidence.case.ledger_entries.last().hash[:12] in timeline


def test_detail_lists_what_an_incomplete_ledger_lacks(client, county_a, assigned_case):
    # Imported history may close a case with no evidence at all; the page must say so.
    from django.db import transaction

    from ledger import services as ledger

    with transaction.atomic():
        ledger.append(assigned_case, action="resolve", from_state="assigned", to_state="resolved",
                      source="import", payload={"result": "", "evidence": []})
    client.force_login(county_a)
    body = client.get(reverse("cases:detail", args=[assigned_case.pk])).content.decode()
    completeness = body[body.index('id="completeness"'):]
    assert "台帐不完整" in completeness
    assert "办理结果" in completeness and "佐证材料（至少一项）" in completeness
