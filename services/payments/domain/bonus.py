"""The top-up bonus (`TOPUP_BONUS_TIERS`, API.md): payments alone decides it, once per top-up.

The bonus is computed when the top-up (or the auto top-up charge) is recorded, kept on it, answered by
`POST /v1/topups`, quoted for the portal's preview (`rpc.payments.topup.quote.v1`) and carried by
`TopupPaid.bonus_cents`, which billing credits as it is: no other service reads the tiers."""

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
