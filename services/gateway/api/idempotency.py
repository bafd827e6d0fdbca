"""The `Idempotency-Key` header of money-moving requests (API.md: top-ups, adjustments): required."""

from __future__ import annotations

from services.gateway.api.errors import ApiError

MAX_LENGTH = 255


def required_idempotency_key(value: str | None) -> str:
    """Checked in the route, after the body: a request with a bad body answers its validation error first."""
    if not value or not value.strip():
        raise ApiError(400, "validation_error", "the Idempotency-Key header is required")
    if len(value) > MAX_LENGTH:
        raise ApiError(400, "validation_error", f"Idempotency-Key is longer than {MAX_LENGTH} characters")
    return value
