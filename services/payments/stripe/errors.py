"""Our exceptions for what Stripe answers, so no `stripe` type reaches callers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import stripe

from runtime.failures import Transient


class StripeAdapterError(Exception):
    """Base class; `code` is Stripe's error code when it gave one."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message, self.code, self.http_status, self.request_id = message, code, http_status, request_id


class CardDeclined(StripeAdapterError):
    """The card was refused (when attaching or setting it up); `decline_code` says why."""

    def __init__(self, message: str, *, decline_code: str | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.decline_code = decline_code


class StripeNotFound(StripeAdapterError):
    """An id Stripe does not know (or that belongs to someone else)."""


class StripeInvalidRequest(StripeAdapterError):
    """Stripe refused the parameters; retrying the same request will not help."""


class StripeIdempotencyConflict(StripeAdapterError):
    """An idempotency key was reused with different parameters."""


class StripeAuthenticationFailed(StripeAdapterError, Transient):
    """The API key is wrong or lacks permission: a configuration problem. Stripe did nothing with the
    request, so it is retried (transient) until an operator fixes the key — loudly, never dropped."""


class StripeUnavailable(StripeAdapterError, Transient):
    """Network failure, rate limit or Stripe-side error: retry later with the same idempotency key."""


class WebhookVerificationFailed(StripeAdapterError):
    """A webhook whose signature or timestamp does not check out; answer 400."""


def translate(error: stripe.StripeError) -> StripeAdapterError:
    body = (error.json_body or {}).get("error", {}) if isinstance(error.json_body, dict) else {}
    common = {
        "code": error.code or body.get("code"),
        "http_status": error.http_status,
        "request_id": error.request_id,
    }
    message = body.get("message") or error.user_message or str(error) or type(error).__name__
    if isinstance(error, stripe.CardError):
        return CardDeclined(message, decline_code=body.get("decline_code"), **common)
    if isinstance(error, stripe.IdempotencyError):
        return StripeIdempotencyConflict(message, **common)
    if isinstance(error, stripe.InvalidRequestError):
        missing = error.http_status == 404 or common["code"] == "resource_missing"
        return (StripeNotFound if missing else StripeInvalidRequest)(message, **common)
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        return StripeAuthenticationFailed(message, **common)
    return StripeUnavailable(message, **common)


@contextmanager
def translated_errors() -> Iterator[None]:
    try:
        yield
    except stripe.StripeError as error:
        raise translate(error) from error
