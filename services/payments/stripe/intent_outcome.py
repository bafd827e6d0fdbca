"""How a PaymentIntent or a card error translates into a charge outcome (no SDK types here)."""

from __future__ import annotations

from typing import Any

from .models import (
    ChargeFailed,
    ChargeOutcome,
    ChargePending,
    ChargeRequiresAuthentication,
    ChargeSucceeded,
)

AUTHENTICATION_CODES = {"authentication_required", "card_authentication_required"}


def outcome_of(intent: dict[str, Any]) -> ChargeOutcome:
    """The outcome a PaymentIntent's current state stands for."""
    status, intent_id = intent.get("status"), intent["id"]
    if status == "succeeded":
        charge = intent.get("latest_charge")
        return ChargeSucceeded(intent_id, charge["id"] if isinstance(charge, dict) else charge)
    if status == "requires_action":
        return ChargeRequiresAuthentication(intent_id, intent.get("client_secret"))
    if status in ("processing", "requires_capture", "requires_confirmation"):
        return ChargePending(intent_id)
    error = intent.get("last_payment_error") or {}
    code, decline_code = error.get("code") or status or "unknown", error.get("decline_code")
    if AUTHENTICATION_CODES & {code, decline_code}:
        return ChargeRequiresAuthentication(intent_id, intent.get("client_secret"))
    return ChargeFailed(code, decline_code, error.get("message") or "The payment failed.", intent_id)


def outcome_of_card_error(json_body: object, fallback_code: str | None = None) -> ChargeOutcome:
    """The outcome of a 402 answer to an off-session charge (its parsed JSON body)."""
    body = json_body.get("error", {}) if isinstance(json_body, dict) else {}
    intent = body.get("payment_intent") or {}
    code, decline_code = body.get("code") or fallback_code or "card_declined", body.get("decline_code")
    if AUTHENTICATION_CODES & {code, decline_code}:
        return ChargeRequiresAuthentication(intent.get("id"), intent.get("client_secret"))
    message = body.get("message") or "Your card was declined."
    return ChargeFailed(code, decline_code, message, intent.get("id"))
