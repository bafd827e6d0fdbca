"""The top-up's rules: amount limits, request idempotency and its state machine.

    pending ──paid──▶ succeeded ──refunded in full──▶ refunded
       │ ▲                ▲
       │ └────────────────┤  money that arrived always wins: a payment that succeeds after a
       ▼                  │  failed attempt (or after an expiry seen out of order) still counts
    failed / expired ─────┘

Each transition answers whether it happened, so the caller emits its event exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["pending", "succeeded", "failed", "expired", "refunded"]
FINAL_WITHOUT_MONEY: frozenset[str] = frozenset({"failed", "expired"})


class TopupRuleViolation(Exception):
    """A request the rules refuse; `code` is the API error code."""

    code = "validation_error"


class AmountOutOfRange(TopupRuleViolation):
    pass


class IdempotencyConflict(TopupRuleViolation):
    code = "idempotency_conflict"


@dataclass(frozen=True)
class Limits:
    min_cents: int
    max_cents: int


def check_amount(amount_cents: int, limits: Limits) -> None:
    if not limits.min_cents <= amount_cents <= limits.max_cents:
        raise AmountOutOfRange(
            f"amount_cents must be between {limits.min_cents} and {limits.max_cents}, got {amount_cents}"
        )


def check_same_request(*, stored_amount_cents: int, amount_cents: int) -> None:
    """An idempotency key replays its first request only: another body is a conflict."""
    if stored_amount_cents != amount_cents:
        raise IdempotencyConflict(
            "this Idempotency-Key was used with another amount_cents "
            f"({stored_amount_cents}); use a new key for a new top-up"
        )


def can_succeed(status: str) -> bool:
    """Paid money is credited once, whatever was seen before (failed attempt, stale expiry)."""
    return status == "pending" or status in FINAL_WITHOUT_MONEY


def can_fail(status: str) -> bool:
    return status == "pending"


def can_expire(status: str) -> bool:
    return status in ("pending", "failed")


def status_after_refunds(*, status: str, amount_cents: int, refunded_cents: int) -> str:
    if status == "succeeded" and refunded_cents >= amount_cents:
        return "refunded"
    return status


def human_reason(code: str | None, message: str | None) -> str:
    """What the customer reads: Stripe's message when it gave one, else a sentence for the code."""
    if message:
        return message
    return {
        "authentication_required": "Your bank asks you to confirm this payment.",
        "no_payment_method": "There is no saved card to charge.",
        "expired": "The payment page expired before the payment was made.",
        "not_charged": "The charge did not reach the payment provider; nothing was charged.",
    }.get(code or "", "The payment failed.")
