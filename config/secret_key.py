"""Which SECRET_KEY values a production process (DEBUG off) refuses to start with.

Settings call :func:`weak_secret_key_reason` and raise ImproperlyConfigured on an answer, so
``manage.py check --deploy``, gunicorn and the Celery worker and beat all stop at start with the
reason, instead of signing sessions and password-reset links with a key anyone can read in the
repository or in ``deploy/env.example``.
"""

from __future__ import annotations

# The embedded default's key (bin/run, DEBUG on). Public: it is in the repository.
DEVELOPMENT_SECRET_KEY = "insecure-embedded-default-key-change-me-in-production-0123456789"
MIN_LENGTH = 50
MIN_DISTINCT_CHARACTERS = 5
# Words of placeholders: deploy/env.example's value ("CHANGE-ME-…") and the usual ones.
PLACEHOLDER_WORDS = ("change-me", "changeme", "change_me", "placeholder", "insecure", "example", "secret-key")


def weak_secret_key_reason(key: str | None) -> str | None:
    """Why ``key`` must not sign anything in production, or None when it will do."""
    if not key:
        return "SECRET_KEY is not set"
    if key == DEVELOPMENT_SECRET_KEY:
        return "SECRET_KEY is the repository's development key"
    lowered = key.lower()
    for word in PLACEHOLDER_WORDS:
        if word in lowered:
            return f"SECRET_KEY looks like a placeholder (contains {word!r})"
    if len(key) < MIN_LENGTH:
        return f"SECRET_KEY is shorter than {MIN_LENGTH} characters"
    if len(set(key)) < MIN_DISTINCT_CHARACTERS:
        return f"SECRET_KEY has fewer than {MIN_DISTINCT_CHARACTERS} different characters"
    return None


def refusal_message(reason: str) -> str:
    return (
        f"{reason}. With DEBUG off the app does not start on a missing, default or placeholder key. "
        "Set SECRET_KEY in the environment (deploy/.env or /etc/caseledger/env) to a random value, e.g. "
        'the output of: python -c "import secrets; print(secrets.token_urlsafe(64))"'
    )
