"""Refusals: what a use case raises when a request is wrong or does not fit the state.

Use cases raise these (or their service's own domain errors) and never build replies; the request
handler (`runtime.handlers.rpc`) alone translates them into `ServiceError` replies with API.md's
codes. A service with richer rules keeps its own errors and a `refusals()` translation in its
handlers.py (payments).
"""


class Refusal(Exception):
    code = "validation_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(Refusal):
    """The request itself is wrong (→ 400 validation_error)."""


class NotFound(Refusal):
    """No such object for this tenant (→ 404 not_found)."""

    code = "not_found"


class Conflict(Refusal):
    """The request does not fit the object's state (→ 409 conflict)."""

    code = "conflict"


class IdempotencyConflict(Refusal):
    """The idempotency key was used for another request (→ 409 idempotency_conflict)."""

    code = "idempotency_conflict"
