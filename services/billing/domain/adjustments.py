"""Operator adjustments: a signed correction of a balance, with a reason the customer reads.

An adjustment is a posting like any other (double entry against `platform:adjustments`, alerts and
auto top-up follow), with two rules of its own:

- it is a request that can be refused, not a fact that already happened: only usage already
  consumed may take a balance below zero (PRODUCT.md), so a debit that would is refused, and a
  balance that is already below zero can only be raised (docs/architecture.md, "Money");
- its idempotency key replays its first request only: another amount or reason is a conflict.
"""

from __future__ import annotations

from contracts.billing.v1 import ADJUSTMENT_REASON_MAX


class AdjustmentRuleViolation(ValueError):
    """A request the rules refuse."""


class InvalidAdjustment(AdjustmentRuleViolation):
    pass


class WouldGoBelowZero(AdjustmentRuleViolation):
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


def check_keeps_balance_non_negative(*, balance_cents: int, amount_cents: int) -> None:
    """Only usage may take a balance below zero; a credit is always welcome."""
    if amount_cents < 0 and balance_cents + amount_cents < 0:
        raise WouldGoBelowZero(
            f"a debit of {-amount_cents} cents would take the balance of {balance_cents} cents below zero; "
            f"at most {max(balance_cents, 0)} cents can be debited"
        )


def check_same_request(*, stored_amount_cents: int, stored_reason: str, amount_cents: int, reason: str) -> None:
    if (stored_amount_cents, stored_reason) != (amount_cents, reason):
        raise NotTheSameRequest(
            "this Idempotency-Key was used for another adjustment "
            f"({stored_amount_cents} cents); use a new key for a new adjustment"
        )
