"""The rules of a refund the operator asks for: what may be refunded, and what a key replays.

What remains refundable of a top-up is its amount minus what was refunded (recorded refunds) minus what
is requested and not settled yet (a refund Stripe still has `pending`): two requests can never
together exceed the payment, whatever order they and their webhooks arrive in.
"""

from __future__ import annotations

from services.payments.domain.topups import IdempotencyConflict, TopupRuleViolation

PAID = frozenset({"succeeded", "refunded"})


class RefundRefused(TopupRuleViolation):
    """The top-up cannot give (that much) money back."""

    code = "conflict"


def check_positive(amount_cents: int) -> None:
    if amount_cents <= 0:
        raise TopupRuleViolation(f"amount_cents must be greater than 0, got {amount_cents}")


def check_paid(status: str) -> None:
    if status not in PAID:
        raise RefundRefused(f"only a paid top-up can be refunded; this one is {status}")


def remaining_refundable(*, amount_cents: int, refunded_cents: int, requested_cents: int) -> int:
    return max(0, amount_cents - refunded_cents - requested_cents)


def check_within_refundable(*, amount_cents: int, remaining_cents: int) -> None:
    if amount_cents > remaining_cents:
        raise RefundRefused(f"amount_cents {amount_cents} is more than the {remaining_cents} that remain refundable")


def check_same_request(*, stored: tuple[str, int, str], requested: tuple[str, int, str]) -> None:
    """(top-up id, amount, reason): an idempotency key replays its first request only."""
    if stored != requested:
        raise IdempotencyConflict(
            "this Idempotency-Key was used for another refund request; use a new key for a new refund"
        )
