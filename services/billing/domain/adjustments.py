"""Operator adjustments: a signed correction of a balance, with a reason the customer reads.

An adjustment is a posting like any other (double entry against `platform:adjustments`, alerts and
auto top-up follow), and like any posting it may take the balance below zero: a correction states what
is true (docs/architecture.md, "Money"). Its own rules: a reason, never 0, and its idempotency key
replays its first request only (another amount or reason is a conflict).
"""

from __future__ import annotations

from contracts.billing.v1 import ADJUSTMENT_REASON_MAX


class AdjustmentRuleViolation(ValueError):
    """A request the rules refuse."""


class InvalidAdjustment(AdjustmentRuleViolation):
    pass


class NotTheSameRequest(AdjustmentRuleViolation):
    pass


def checked_reason(reason: str) -> str:
    """The reason as the customer will read it: required, without surrounding blanks, bounded."""
    text = reason.strip()
    if not text:
        raise InvalidAdjustment("reason is required: the customer reads it next to the transaction")
    if len(text) > ADJUSTMENT_REASON_MAX:
        raise InvalidAdjustment(f"reason is longer than {ADJUSTMENT_REASON_MAX} characters")
    return text


def check_amount(amount_cents: int) -> None:
    if amount_cents == 0:
        raise InvalidAdjustment("amount_cents must not be 0: a credit is positive, a debit negative")


def check_same_request(*, stored_amount_cents: int, stored_reason: str, amount_cents: int, reason: str) -> None:
    if (stored_amount_cents, stored_reason) != (amount_cents, reason):
        raise NotTheSameRequest(
            "this Idempotency-Key was used for another adjustment "
            f"({stored_amount_cents} cents); use a new key for a new adjustment"
        )
