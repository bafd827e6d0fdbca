"""German VAT for prepaid top-ups, in integer cents (§ 12 Abs. 1 and § 13b UStG)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .models import Party

STANDARD_RATE_PERCENT = 19

EU_COUNTRIES = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    }
)


class TaxCategory(Enum):
    """UNTDID 5305 codes used by EN 16931."""

    STANDARD = "S"
    REVERSE_CHARGE = "AE"


@dataclass(frozen=True, slots=True)
class TaxBreakdown:
    category: TaxCategory
    rate_percent: int
    net_cents: int
    tax_cents: int
    gross_cents: int

    @property
    def is_reverse_charge(self) -> bool:
        return self.category is TaxCategory.REVERSE_CHARGE


def net_from_gross(gross_cents: int, rate_percent: int = STANDARD_RATE_PERCENT) -> int:
    """Net amount contained in a gross amount, rounded half up to the cent."""
    numerator = gross_cents * 100 * 2
    denominator = (100 + rate_percent) * 2
    return (numerator + (100 + rate_percent)) // denominator


def is_reverse_charge(*, seller: Party, buyer: Party) -> bool:
    """B2B service to a business in another EU member state that gave its VAT ID."""
    return bool(buyer.vat_id) and buyer.country in EU_COUNTRIES and buyer.country != seller.country


def split_gross(gross_cents: int, *, seller: Party, buyer: Party) -> TaxBreakdown:
    """Tax breakdown of an amount the buyer paid (or was refunded) in full."""
    if is_reverse_charge(seller=seller, buyer=buyer):
        return TaxBreakdown(TaxCategory.REVERSE_CHARGE, 0, gross_cents, 0, gross_cents)
    net_cents = net_from_gross(gross_cents)
    return TaxBreakdown(
        TaxCategory.STANDARD,
        STANDARD_RATE_PERCENT,
        net_cents,
        gross_cents - net_cents,
        gross_cents,
    )
