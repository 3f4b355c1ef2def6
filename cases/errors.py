"""What a service refuses with. Views and the API map these to a form error or 400/403/404/409."""

from __future__ import annotations

from django.utils.functional import Promise


class CaseError(Exception):
    status = 400

    def __init__(self, message: str | Promise, *, field: str | None = None, errors: dict | None = None):
        super().__init__(message)
        self.message = str(message)
        self.field = field
        self.errors = errors or ({field: [str(message)]} if field else {})

    def as_json(self) -> dict:
        return self.errors if self.errors else {"detail": self.message}


class InvalidInput(CaseError):
    """Missing or bad input: HTTP 400."""

    status = 400


class NotAllowed(CaseError):
    """This user's role may not do this: HTTP 403."""

    status = 403


class WrongState(CaseError):
    """Not allowed from the case's current state, or the case changed meanwhile: HTTP 409."""

    status = 409


class MovedOn(WrongState):
    """Refused because the case moved on (its state or department changed) since the actor
    loaded it — a lost race or a stale page, not a missing right: HTTP 409, "refresh"."""


class NotFound(CaseError):
    """Does not exist, or outside the user's scope (never told apart): HTTP 404."""

    status = 404
