"""The client address for login throttling (django-axes).

Only the TCP peer (REMOTE_ADDR) is trusted, unless that peer is one of TRUSTED_PROXIES (our
nginx), in which case the X-Real-IP header nginx sets from its own peer address is used.
X-Forwarded-For is never read: a client can write anything there, and a lockout must not be
escaped by sending a new value with each attempt.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def _trusted(peer: str) -> bool:
    """TRUSTED_PROXIES holds addresses or networks (``10.0.0.5``, ``172.16.0.0/12``)."""
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    for entry in getattr(settings, "TRUSTED_PROXIES", []) or []:
        try:
            if address in ipaddress.ip_network(entry.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


def client_ip(request) -> str | None:
    peer = request.META.get("REMOTE_ADDR") or None
    if peer and _trusted(peer):
        forwarded = (request.META.get("HTTP_X_REAL_IP") or "").strip()
        if forwarded and _valid(forwarded):
            return forwarded
    return peer
