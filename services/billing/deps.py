"""What billing's use cases need besides their arguments, built once in `app.build` and passed.

Tests build their own (`BillingDeps(db=db)` takes API.md's defaults), with no NATS at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runtime.db import Database
from services.billing.autotopup.store import Policy
from services.billing.config import BillingSettings


@dataclass(frozen=True)
class BillingDeps:
    db: Database
    autotopup: Policy = field(default_factory=Policy)  # cooldown, retries, limits, timezone, threshold
    grant_notice_days: int = 7  # GRANT_EXPIRY_NOTICE_DAYS
    bonus_expires_after_days: int | None = None  # BONUS_EXPIRES_AFTER_DAYS: the bonus as an expiring grant

    @property
    def default_threshold_cents(self) -> int:
        """LOW_BALANCE_THRESHOLD_CENTS: the threshold of an account made by its first posting."""
        return self.autotopup.default_threshold_cents

    @property
    def timezone(self) -> str:
        return self.autotopup.timezone

    @classmethod
    def from_settings(cls, settings: BillingSettings, db: Database) -> BillingDeps:
        return cls(
            db=db,
            autotopup=Policy.from_settings(settings),
            grant_notice_days=settings.grant_expiry_notice_days,
            bonus_expires_after_days=settings.bonus_expires_after_days,
        )
