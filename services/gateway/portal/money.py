"""Reading euro amounts typed by people ("25", "25,50", "1.000,00", "25.5") as integer cents."""

from __future__ import annotations

import re
from dataclasses import dataclass

_AMOUNT = re.compile(
    r"^\d{1,3}(?:[.\s]\d{3})*(?:,\d{1,2})?$"  # 1.000,50
    r"|^\d{1,3}(?:[,\s]\d{3})*(?:\.\d{1,2})?$"  # 1,000.50
    r"|^\d+(?:[.,]\d{1,2})?$"  # 1000,5 or 1000.5
)


def parse_euros(text: str | None) -> int | None:
    """Cents for a typed euro amount, None when it is not one (negative amounts are not amounts)."""
    raw = (text or "").strip().replace("\u00a0", " ").removesuffix("€").strip()
    if not raw or not _AMOUNT.match(raw):
        return None
    if re.match(r"^\d+[.,]\d{1,2}$", raw):
        whole, _, frac = raw.replace(",", ".").partition(".")
    else:
        decimal = "," if re.search(r",\d{1,2}$", raw) else "."
        whole, _, frac = raw.partition(decimal) if re.search(rf"\{decimal}\d{{1,2}}$", raw) else (raw, "", "")
        whole = re.sub(r"[.,\s]", "", whole)
    return int(whole) * 100 + int((frac + "00")[:2])


@dataclass(frozen=True)
class BonusTier:
    min_cents: int
    percent: int


def parse_tiers(spec: str) -> list[BonusTier]:
    """`TOPUP_BONUS_TIERS` (`min_cents:percent,…`), as billing and payments read it; bad parts are skipped."""
    tiers = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        try:
            low, pct = (int(x) for x in part.split(":"))
        except ValueError:
            continue
        tiers.append(BonusTier(low, pct))
    return sorted(tiers, key=lambda tier: tier.min_cents)


def bonus_for(amount_cents: int, tiers: list[BonusTier]) -> int:
    """The highest tier reached applies to the whole amount; fractions of a cent are dropped (as billing does)."""
    percent = 0
    for tier in tiers:
        if amount_cents >= tier.min_cents:
            percent = tier.percent
    return amount_cents * percent // 100
