"""The bonus shown before paying: the same definition billing credits (contracts.billing.bonus)."""

from contracts.billing.bonus import BonusTier, InvalidTiers, bonus_for, parse_tiers

__all__ = ["BonusTier", "InvalidTiers", "bonus_for", "parse_tiers"]
