"""Stripe webhook verification with the SDK's own signature check."""

from __future__ import annotations

import json
from typing import Any

import stripe

from .errors import WebhookVerificationFailed

WEBHOOK_TOLERANCE_S = 300


def verify_webhook(
    payload: bytes, signature_header: str | None, secret: str, tolerance: int = WEBHOOK_TOLERANCE_S
) -> dict[str, Any]:
    """The verified event as a dict; WebhookVerificationFailed for a bad signature, a timestamp
    older than `tolerance` seconds, or a body that is not an event."""
    try:
        stripe.WebhookSignature.verify_header(payload, signature_header, secret, tolerance)
        event = json.loads(payload)
    except stripe.SignatureVerificationError as error:
        raise WebhookVerificationFailed(error.user_message or str(error), code="invalid_signature") from error
    except ValueError as error:
        raise WebhookVerificationFailed("Webhook body is not JSON.", code="invalid_payload") from error
    if not isinstance(event, dict) or not isinstance(event.get("type"), str) or "data" not in event:
        raise WebhookVerificationFailed("Webhook body is not a Stripe event.", code="invalid_payload")
    return event
