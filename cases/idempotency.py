"""Retries without duplicates: one case per client key (API ``Idempotency-Key``, intake form token).

The key row is written in the same transaction as the case it names. A retry with the same key
and the same request gets that case back; the same key with another request is a conflict (409);
of two requests with one key at the same moment, the unique constraint lets one create the case
and the other is answered with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .errors import CaseError, InvalidInput
from .models import Case, IdempotencyKey

KEY_MAX_LENGTH = 255
# Printable ASCII without spaces: what clients put in a header (UUIDs, hashes, request ids).
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
TTL_HOURS_DEFAULT = 24


class KeyReused(CaseError):
    """The key was already used for a different request: HTTP 409."""

    status = 409
    case: Case | None = None


def clean_key(value: str | None) -> str | None:
    """The key a client sent, or None when it sent none; 400 for one that is not a key."""
    if value is None:
        return None
    key = value.strip()
    if not key or len(key) > KEY_MAX_LENGTH or not all("\x21" <= ch <= "\x7e" for ch in key):
        raise InvalidInput(
            _("The Idempotency-Key header must be 1 to %(n)d printable ASCII characters without spaces.")
            % {"n": KEY_MAX_LENGTH}
        )
    return key


def fingerprint(data) -> str:
    """A hash of a request's body as parsed, so key order and spacing do not make it another."""
    if hasattr(data, "lists"):  # a QueryDict (form or multipart body)
        data = {key: values for key, values in data.lists()}
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stored_case(*, by, key: str, request_hash: str) -> Case | None:
    """The case this user's key already created, or None; KeyReused for a different request."""
    row = IdempotencyKey.objects.filter(user=by, key=key).select_related("case").first()
    if row is None:
        return None
    if row.request_hash != request_hash:
        refusal = KeyReused(
            _(
                "This Idempotency-Key was already used for a different request (case %(number)s); "
                "use a new key for a new case."
            )
            % {"number": row.case.number}
        )
        refusal.case = row.case
        raise refusal
    return row.case


def create_once(*, by, key: str, request_hash: str, create: Callable[[], Case], now: dt.datetime) -> tuple[Case, bool]:
    """(the case, True) when ``create`` made it now; (the stored case, False) for a retry."""
    case = stored_case(by=by, key=key, request_hash=request_hash)
    if case is not None:
        return case, False
    try:
        with transaction.atomic():
            case = create()
            IdempotencyKey.objects.create(user=by, key=key, request_hash=request_hash, case=case, created_at=now)
    except IntegrityError:
        # Another request with this key committed first (it held the region lock the creation
        # waits for); this one's case rolled back with it. Answer with the winner's case.
        case = stored_case(by=by, key=key, request_hash=request_hash)
        if case is None:
            raise
        return case, False
    return case, True


def new_form_token() -> str:
    """A one-time token for a form that creates a case (sent back in a hidden field)."""
    return uuid.uuid4().hex


def form_key(token) -> str | None:
    """The key for a form's token, or None when the form sent none (or junk)."""
    token = str(token or "").strip()
    if len(token) != 32 or not all(ch in "0123456789abcdef" for ch in token):
        return None
    return f"form:{token}"


def form_fingerprint(post) -> str:
    """A form's request hash: what it sent, without the CSRF token (new on every page)."""
    return fingerprint({key: values for key, values in post.lists() if key != "csrfmiddlewaretoken"})


def ttl() -> dt.timedelta:
    return dt.timedelta(hours=int(getattr(settings, "IDEMPOTENCY_KEY_TTL_HOURS", TTL_HOURS_DEFAULT)))


def expire_keys(*, now: dt.datetime) -> int:
    """Remove keys older than the retention period; how many."""
    deleted, _by_model = IdempotencyKey.objects.filter(created_at__lt=now - ttl()).delete()
    return deleted
