"""Notice deliveries a worker left "sending" when it died mid-SMTP: reclaimed after the claim
timeout and sent by the next run, never while the claim is fresh; a message that kills its
sender every time stops, failed with the reason, after NOTICE_DELIVERY_MAX_ATTEMPTS claims.

Real database throughout: the claims are the rows' own UPDATEs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from notices import services, tasks
from notices.models import ALL_GROUPS, NoticeDelivery

from .conftest import RECIPIENTS, at
from .dying_mail import Backend as DyingBackend
from .dying_mail import WorkerDied

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
DYING = "tests.notices.dying_mail.Backend"


@pytest.fixture
def march_draft(region_a, county_a, schedule_for):
    schedule_for(region_a)
    return services.draft_notice(by=county_a, region=region_a, period="2026-03", now=at("2026-04-01"))


@pytest.fixture
def abandoned(march_draft, county_a, settings):
    """The notice issued at 10:00 by a worker that died sending to the first recipient."""
    settings.EMAIL_BACKEND = DYING
    with pytest.raises(WorkerDied):
        services.issue_notice(by=county_a, notice=march_draft, now=at("2026-04-03"))
    settings.EMAIL_BACKEND = LOCMEM
    return march_draft


def sent_to(email: str) -> int:
    return sum(1 for m in mail.outbox if m.to == [email])


def test_a_dead_workers_claim_is_left_alone_while_fresh_and_sent_after_the_timeout(abandoned, settings):
    timeout = dt.timedelta(seconds=settings.NOTICE_DELIVERY_CLAIM_TIMEOUT_SECONDS)
    first = NoticeDelivery.objects.filter(notice=abandoned).order_by("id").first()
    assert (first.state, first.attempts) == (NoticeDelivery.State.SENDING, 1)
    assert at("2026-04-03") <= first.claimed_at < at("2026-04-03") + dt.timedelta(seconds=5)
    assert NoticeDelivery.objects.filter(notice=abandoned, state=NoticeDelivery.State.PENDING).count() == 3

    # Just before the timeout: the others (never tried) are sent, the claimed one is not.
    assert services.send_pending_deliveries(now=at("2026-04-03") + timeout - dt.timedelta(seconds=1)) == 3
    first.refresh_from_db()
    assert first.state == NoticeDelivery.State.SENDING
    assert sent_to(first.email) == 0

    # Past the timeout: the next run reclaims it and sends it, once.
    assert services.send_pending_deliveries(now=at("2026-04-03") + timeout + dt.timedelta(seconds=1)) == 1
    first.refresh_from_db()
    assert (first.state, first.attempts, first.claimed_at) == (NoticeDelivery.State.SENT, 2, None)
    assert sent_to(first.email) == 1

    assert services.send_pending_deliveries(now=at("2026-04-03") + 3 * timeout) == 0
    assert [sent_to(r["email"]) for r in RECIPIENTS] == [1, 1, 1, 1]
    abandoned.refresh_from_db()
    assert abandoned.groups == list(ALL_GROUPS)


def test_issuing_again_within_the_timeout_does_not_send_the_claimed_row_twice(abandoned, county_a, settings):
    timeout = dt.timedelta(seconds=settings.NOTICE_DELIVERY_CLAIM_TIMEOUT_SECONDS)
    first = NoticeDelivery.objects.filter(notice=abandoned).order_by("id").first()

    services.issue_notice(by=county_a, notice=abandoned, now=at("2026-04-03") + timeout / 2)
    first.refresh_from_db()
    assert first.state == NoticeDelivery.State.SENDING
    assert sent_to(first.email) == 0

    services.issue_notice(by=county_a, notice=abandoned, now=at("2026-04-03") + timeout * 2)
    first.refresh_from_db()
    assert first.state == NoticeDelivery.State.SENT
    assert [sent_to(r["email"]) for r in RECIPIENTS] == [1, 1, 1, 1]


def test_a_message_that_kills_its_sender_stops_after_the_attempts(abandoned, settings):
    settings.NOTICE_DELIVERY_MAX_ATTEMPTS = 3
    timeout = dt.timedelta(seconds=settings.NOTICE_DELIVERY_CLAIM_TIMEOUT_SECONDS)
    first = NoticeDelivery.objects.filter(notice=abandoned).order_by("id").first()
    services.send_pending_deliveries(now=at("2026-04-03") + timeout / 2)  # the other three go out
    settings.EMAIL_BACKEND = DYING
    DyingBackend.calls = 0

    # Its second claim, once the first expired: the worker dies on it again.
    with pytest.raises(WorkerDied):
        services.send_pending_deliveries(now=at("2026-04-03") + timeout + dt.timedelta(seconds=1))
    first.refresh_from_db()
    assert (first.state, first.attempts) == (NoticeDelivery.State.SENDING, 2)
    # The third, by the beat task (the clock's now, long after): dies again.
    with pytest.raises(WorkerDied):
        tasks.sync_failed_deliveries.run()
    first.refresh_from_db()
    assert (first.state, first.attempts) == (NoticeDelivery.State.SENDING, 3)
    assert DyingBackend.calls == 2

    # Its third claim expires: failed with the reason, and never tried again.
    later = first.claimed_at + timeout + dt.timedelta(seconds=1)
    assert services.send_pending_deliveries(now=later) == 0
    assert services.send_pending_deliveries(now=later + 5 * timeout) == 0
    first.refresh_from_db()
    assert (first.state, first.attempts, first.claimed_at) == (NoticeDelivery.State.FAILED, 3, None)
    assert "interrupted 3 times" in first.error
    assert DyingBackend.calls == 2
    assert sent_to(first.email) == 0
