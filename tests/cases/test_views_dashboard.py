"""The evidence download, and what the case page shows of a case's ledger.

The dashboard's queues are tested in tests/desk/test_dashboard.py."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases import services
from cases.models import Evidence
from cases.uploads import EvidenceReference
from tests.conftest import PDF_BYTES, pdf_file

pytestmark = pytest.mark.django_db


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
    timeline = body[body.index('id="timeline"') :]
    for label in ("受理", "交办", "办结", "已交办 → 已解决", "网页", "办理情况说明.pdf"):
        assert label in timeline, label
    assert evidence.case.ledger_entries.last().hash[:12] in timeline


def test_detail_lists_what_an_incomplete_ledger_lacks(client, county_a, assigned_case):
    # Imported history may close a case with no evidence at all; the page must say so.
    from django.db import transaction

    from ledger import services as ledger

    with transaction.atomic():
        ledger.append(
            assigned_case,
            action="resolve",
            from_state="assigned",
            to_state="resolved",
            source="import",
            payload={"result": "", "evidence": []},
        )
    client.force_login(county_a)
    body = client.get(reverse("cases:detail", args=[assigned_case.pk])).content.decode()
    completeness = body[body.index('id="completeness"') :]
    assert "台帐不完整" in completeness
    assert "办理结果" in completeness and "佐证材料（至少一项）" in completeness
