"""The rules of a refund the operator asks for: what may be refunded, and what a key replays.

What remains refundable of a top-up is its amount minus what was refunded (recorded refunds) minus what
is requested and not settled yet (a refund Stripe still has `pending`): two requests can never
together exceed the payment, whatever order they and their webhooks arrive in.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class RefundedSoFar:
    """What of one top-up has gone back (`recorded_cents`, refunds Stripe settled) or is held by a
    refund asked for that Stripe has not settled yet (`held_cents`)."""

    recorded_cents: int = 0
    held_cents: int = 0

    @property
    def total_cents(self) -> int:
        return self.recorded_cents + self.held_cents


def remaining_refundable(*, amount_cents: int, refunded: RefundedSoFar) -> int:
    """What a new refund may still ask for: the refund request's check and the operator's list alike."""
    return max(0, amount_cents - refunded.total_cents)


def refundable_now(*, status: str, amount_cents: int, refunded: RefundedSoFar) -> int:
    """`remaining_refundable` of a paid top-up; nothing of one that was never paid."""
    return remaining_refundable(amount_cents=amount_cents, refunded=refunded) if status in PAID else 0


def check_within_refundable(*, amount_cents: int, remaining_cents: int) -> None:
    if amount_cents > remaining_cents:
        raise RefundRefused(f"amount_cents {amount_cents} is more than the {remaining_cents} that remain refundable")


def check_same_request(*, stored: tuple[str, int, str], requested: tuple[str, int, str]) -> None:
    """(top-up id, amount, reason): an idempotency key replays its first request only."""
    if stored != requested:
        raise IdempotencyConflict(
            "this Idempotency-Key was used for another refund request; use a new key for a new refund"
        )
