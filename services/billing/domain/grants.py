"""Promotional credit: grants, the order usage burns them in, and what they have left at expiry.

A grant is credit the customer did not pay for (trial, goodwill, campaign). It is part of the balance
(`balance = paid + promotional`), but usage draws from it first:

- burn order: lowest `priority` number first, then the earliest `expires_at` (a grant that never
  expires last), then the oldest, then the id (so two grants created in the same microsecond still
  have one order, the same in every replica and every run);
- a grant whose `expires_at` has passed is never drawn, even before the expiry job has closed it;
- a grant is never drawn below zero; what the open grants cannot cover comes from paid balance, which
  may go below zero as usage always may (PRODUCT.md);
- only usage burns grants: a refund or an operator's debit takes paid balance only (a refund gives back
  money that was paid; promotional credit is withdrawn by voiding its grant).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.billing.domain.adjustments import InvalidAdjustment, checked_reason

__all__ = [
    "Allocation",
    "GrantBook",
    "InvalidGrant",
    "NotTheSameGrant",
    "OpenGrant",
    "burn_order",
    "check_expires_in_future",
    "checked_reason",
    "notice_due",
]

InvalidGrant = InvalidAdjustment  # the same family of refusals: 400 validation_error


class NotTheSameGrant(ValueError):
    pass


@dataclass(frozen=True)
class OpenGrant:
    id: str
    remaining_cents: int
    priority: int
    expires_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Allocation:
    grant_id: str
    amount_cents: int  # > 0: what the debit took from that grant


def burn_order(grant: OpenGrant) -> tuple:
    never = grant.expires_at is None
    return (grant.priority, never, grant.expires_at if not never else grant.created_at, grant.created_at, grant.id)


def drawable(grants: list[OpenGrant], *, now: datetime) -> list[OpenGrant]:
    """The grants a debit at `now` may draw from, in burn order."""
    live = [g for g in grants if g.remaining_cents > 0 and (g.expires_at is None or g.expires_at > now)]
    return sorted(live, key=burn_order)


class GrantBook:
    """A tenant's drawable grants during one batch of postings (one `now`): put in burn order once,
    then drawn down in place by each debit — the debit path's per-debit cost is a short loop."""

    __slots__ = ("_first", "_ids", "_left")

    def __init__(self, grants: list[OpenGrant], *, now: datetime) -> None:
        live = drawable(grants, now=now)
        self._ids = [g.id for g in live]
        self._left = [g.remaining_cents for g in live]
        self._first = 0  # grants before it are empty

    def draw(self, debit_cents: int) -> list[Allocation]:
        """What a debit of `debit_cents` (> 0) takes from each grant; the rest comes from paid balance."""
        allocations: list[Allocation] = []
        left, i = debit_cents, self._first
        while left > 0 and i < len(self._left):
            take = min(left, self._left[i])
            self._left[i] -= take
            left -= take
            allocations.append(Allocation(self._ids[i], take))
            if self._left[i] == 0:
                self._first = i + 1
            i += 1
        return allocations


def check_expires_in_future(expires_at: datetime | None, *, now: datetime) -> None:
    if expires_at is None:
        return
    if expires_at.tzinfo is None:
        raise InvalidGrant("expires_at needs a time zone (e.g. 2027-01-31T23:59:59Z)")
    if expires_at <= now:
        raise InvalidGrant("expires_at must be in the future")


def check_same_request(stored: tuple[int, str, datetime | None, int], requested: tuple[int, str, datetime | None, int]):
    """(amount, reason, expires_at, priority) of the first request with this key and of this one."""
    if stored != requested:
        raise NotTheSameGrant(
            f"this Idempotency-Key was used for another grant ({stored[0]} cents); use a new key for a new grant"
        )


def notice_due(expires_at: datetime, *, notice_days: int) -> datetime:
    """When `credits.expiring` is due: `notice_days` before the expiry (at once when that has passed)."""
    return expires_at - timedelta(days=notice_days)
