"""Top-up bonus tiers and the share of a bonus a refund reverses."""

from __future__ import annotations

from dataclasses import dataclass


class InvalidTiers(ValueError):
    pass


@dataclass(frozen=True, order=True)
class BonusTier:
    min_cents: int
    percent: int


def parse_tiers(spec: str) -> tuple[BonusTier, ...]:
    """`"10000:5,25000:10"` → tiers sorted by threshold. Empty spec → no bonus."""
    tiers = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        try:
            min_cents, percent = (int(x) for x in part.split(":"))
        except ValueError as exc:
            raise InvalidTiers(f"bad bonus tier {part!r}, expected min_cents:percent") from exc
        if min_cents < 0 or not 0 <= percent <= 100:
            raise InvalidTiers(f"bad bonus tier {part!r}")
        tiers.append(BonusTier(min_cents, percent))
    return tuple(sorted(tiers))


def bonus_for(amount_cents: int, tiers: tuple[BonusTier, ...]) -> int:
    """The highest tier the amount reaches applies to the whole amount; fractions of a cent are dropped."""
    percent = 0
    for tier in tiers:
        if amount_cents >= tier.min_cents:
            percent = tier.percent
    return amount_cents * percent // 100


def bonus_to_reverse(*, topup_cents: int, bonus_cents: int, refunded_before: int, refund_cents: int,
                     reversed_before: int) -> int:
    """After refunds totalling R of a top-up A with bonus B, exactly floor(B·R/A) is reversed.

    Computing the cumulative target and subtracting what was already reversed makes partial refunds
    that add up to A reverse all of B, whatever their order or sizes.
    """
    if topup_cents <= 0:
        return 0
    refunded_total = min(refunded_before + refund_cents, topup_cents)
    target = bonus_cents * refunded_total // topup_cents
    return max(target - reversed_before, 0)
