"""Issuing: immutable afterwards, delivered once per recipient, corrections supersede."""

from __future__ import annotations

import pytest
from django.core import mail

from cases.errors import InvalidInput, NotFound, WrongState
from notices import services
from notices.evidence import item14_evidence
from notices.models import ALL_GROUPS, Notice, NoticeDelivery, Status
from notifications.models import Delivery, Notification
from notifications.services import recover_and_send

from .conftest import RECIPIENTS, at


@pytest.fixture
def march_draft(region_a, county_a, schedule_for):
    schedule_for(region_a)
    return services.draft_notice(by=county_a, region=region_a, period="2026-03", now=at("2026-04-01"))


def test_issuing_delivers_once_per_recipient(march_draft, county_a):
    notice = services.issue_notice(by=county_a, notice=march_draft, now=at("2026-04-03"))
    again = services.issue_notice(by=county_a, notice=notice, now=at("2026-04-04"))

    to_recipients = [m for m in mail.outbox if m.to[0] in {r["email"] for r in RECIPIENTS}]
    assert sorted(m.to[0] for m in to_recipients) == sorted(r["email"] for r in RECIPIENTS)
    assert again.status == Status.ISSUED
    assert again.issued_on.isoformat() == "2026-04-03"
    assert again.issued_by == county_a
    assert again.groups == list(ALL_GROUPS)
    rows = NoticeDelivery.objects.filter(notice=notice)
    assert rows.count() == len(RECIPIENTS)
    assert set(rows.values_list("state", flat=True)) == {NoticeDelivery.State.SENT}
    assert Delivery.objects.filter(purpose__startswith=f"notice:{notice.pk}:recipient:").count() == len(RECIPIENTS)
    assert to_recipients[0].subject == notice.title


def test_issuing_puts_a_notice_in_the_county_office_inbox(march_draft, county_a, county_b):
    services.issue_notice(by=county_a, notice=march_draft, now=at("2026-04-03"))
    services.issue_notice(by=county_a, notice=march_draft, now=at("2026-04-03"))

    assert Notification.objects.filter(user=county_a, kind="notice_issued").count() == 1
    assert not Notification.objects.filter(user=county_b).exists()


def test_failed_delivery_is_recorded_and_retried_once_it_works(march_draft, county_a, settings):
    settings.EMAIL_BACKEND = "tests.notices.broken_mail.Backend"
    notice = services.issue_notice(by=county_a, notice=march_draft, now=at("2026-04-03"))
    assert notice.groups == []
    assert set(notice.deliveries.values_list("state", flat=True)) == {NoticeDelivery.State.FAILED}

    # Issuing again does not resend: the notifications sweep retries failed deliveries.
    services.issue_notice(by=county_a, notice=notice, now=at("2026-04-03"))
    assert Delivery.objects.filter(purpose__startswith=f"notice:{notice.pk}:").count() == len(RECIPIENTS)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    recover_and_send(now=at("2026-04-03", 12))
    recover_and_send(now=at("2026-04-03", 13))
    assert services.sync_failed_deliveries() == 1
    notice.refresh_from_db()
    assert notice.groups == list(ALL_GROUPS)
    assert set(notice.deliveries.values_list("state", flat=True)) == {NoticeDelivery.State.SENT}
    assert sorted(m.to[0] for m in mail.outbox if m.subject == notice.title) == sorted(r["email"] for r in RECIPIENTS)
    assert services.sync_failed_deliveries() == 0


def test_issued_notice_refuses_edits_and_deletion(march_draft, county_a):
    notice = services.issue_notice(by=county_a, notice=march_draft, now=at("2026-04-03"))
    drafted_body = notice.covering_text
    assert drafted_body  # drafted from the figures

    with pytest.raises(WrongState):
        services.update_draft(by=county_a, notice=notice, covering_text="改一下")
    notice.covering_text = "直接改"
    with pytest.raises(WrongState):
        notice.save()
    with pytest.raises(WrongState):
        notice.delete()
    with pytest.raises(WrongState):
        services.draft_notice(by=county_a, region=notice.region, period="2026-03", now=at("2026-04-05"))
    notice.refresh_from_db()
    assert notice.covering_text == drafted_body


def test_correction_supersedes_and_both_are_kept(march_draft, county_a, region_a):
    original = services.issue_notice(by=county_a, notice=march_draft, now=at("2026-04-03"))
    correction = services.correct_notice(by=county_a, notice=original, now=at("2026-04-10"))
    services.update_draft(by=county_a, notice=correction, covering_text="更正：……")
    correction = services.issue_notice(by=county_a, notice=correction, now=at("2026-04-10"))

    original.refresh_from_db()
    assert original.status == Status.SUPERSEDED
    assert correction.status == Status.ISSUED and correction.supersedes_id == original.pk
    assert Notice.objects.filter(region=region_a, period="2026-03").count() == 2
    # The superseded notice still counts on its own issue date.
    evidence = item14_evidence(region_a, 2026, at("2026-04-30").date())
    assert "2026-03" in evidence.periods_served
    assert sorted(evidence.notices["2026-03"]) == sorted([original.pk, correction.pk])


def test_issuing_before_the_period_ended_is_refused(region_a, county_a, schedule_for):
    schedule_for(region_a)
    draft = services.draft_notice(by=county_a, region=region_a, period="2026-04", now=at("2026-04-15"))

    with pytest.raises(WrongState):
        services.issue_notice(by=county_a, notice=draft, now=at("2026-04-15"))
    assert Notice.objects.get(pk=draft.pk).status == Status.DRAFTED


def test_issuing_without_a_complete_schedule_is_refused(region_a, county_a):
    draft = services.draft_notice(by=county_a, region=region_a, period="2026-03", now=at("2026-04-01"))

    with pytest.raises(InvalidInput):
        services.issue_notice(by=county_a, notice=draft, now=at("2026-04-03"))
    assert Notice.objects.get(pk=draft.pk).status == Status.DRAFTED


def test_county_cannot_draft_for_another_county(region_b, county_a):
    with pytest.raises(NotFound):
        services.draft_notice(by=county_a, region=region_b, period="2026-03", now=at("2026-04-01"))


@pytest.mark.parametrize("period", ["2026-13", "2026-Q5", "2026-00", "2026-Q0", "March", "", "2026-3", "26-03"])
def test_a_period_that_does_not_exist_is_refused(region_a, county_a, period):
    with pytest.raises(InvalidInput):
        services.draft_notice(by=county_a, region=region_a, period=period, now=at("2026-04-01"))
    assert not Notice.objects.exists()


def test_schedule_without_all_three_groups_is_refused(region_a, county_a):
    with pytest.raises(InvalidInput) as refused:
        services.save_schedule(by=county_a, region=region_a, recipients=RECIPIENTS[:2])
    assert "department" in refused.value.message.lower() or "相关部门领导" in refused.value.message
    assert not region_a.__class__.objects.filter(notice_schedule__isnull=False).exists()


def test_schedule_with_a_bad_email_is_refused(region_a, county_a):
    with pytest.raises(InvalidInput):
        services.save_schedule(
            by=county_a,
            region=region_a,
            recipients=[*RECIPIENTS, {"group": "city_office", "name": "x", "email": "not-an-email"}],
        )


def test_offline_registration_refusals_change_nothing(region_a, county_a, register):
    from tests.conftest import PNG_BYTES, pdf_file

    register(region_a, "2026-01", "2026-02-02", by=county_a)
    with pytest.raises(WrongState):
        register(region_a, "2026-01", "2026-02-03", by=county_a)
    with pytest.raises(InvalidInput):  # in the future
        services.register_offline(
            by=county_a,
            region=region_a,
            period="2026-02",
            issued_on=at("2026-03-05").date(),
            groups=list(ALL_GROUPS),
            document=pdf_file(),
            now=at("2026-03-04"),
        )
    with pytest.raises(InvalidInput):  # before the period ended
        register(region_a, "2026-02", "2026-02-20", by=county_a)
    with pytest.raises(InvalidInput):  # unknown group
        register(region_a, "2026-02", "2026-03-02", groups=["mayor"], by=county_a)
    from django.core.files.uploadedfile import SimpleUploadedFile

    with pytest.raises(InvalidInput):  # not a scan
        services.register_offline(
            by=county_a,
            region=region_a,
            period="2026-02",
            issued_on=at("2026-03-02").date(),
            groups=list(ALL_GROUPS),
            now=at("2026-03-03"),
            document=SimpleUploadedFile("通报.pdf", b"just text", content_type="application/pdf"),
        )
    image = services.register_offline(
        by=county_a,
        region=region_a,
        period="2026-02",
        issued_on=at("2026-03-02").date(),
        groups=list(ALL_GROUPS),
        now=at("2026-03-03"),
        document=SimpleUploadedFile("scan.png", PNG_BYTES, content_type="image/png"),
    )
    assert image.offline and image.status == Status.OFFLINE
    assert Notice.objects.filter(region=region_a).count() == 2
    assert "scan" not in image.document.name
