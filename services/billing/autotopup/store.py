"""Load and save auto top-up rules and charges; turn domain notices into customer-visible events."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from uuid import NAMESPACE_URL, uuid5

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.portal.v1 import PortalEvent
from runtime.calendar import Calendar
from runtime.tables import table_of
from services.billing.autotopup.tables import AutoTopupCharge, AutoTopupSetting
from services.billing.domain.autotopup import Notice, Rule, parse_retry

settings_table = table_of(AutoTopupSetting)
charges_table = table_of(AutoTopupCharge)
RULE_FIELDS = tuple(f.name for f in fields(Rule))
COUNTED = ("requested", "paused", "succeeded")  # automatic charges that count towards the monthly limit


@dataclass(frozen=True)
class Policy:
    """The operator's knobs (API.md configuration), part of `BillingDeps` built in `app.build`."""

    cooldown_s: float = 60.0
    retry_s: tuple[float, ...] = (300.0, 1800.0)
    timezone: str = "Europe/Berlin"
    min_cents: int = 1000
    max_cents: int = 1_000_000
    default_threshold_cents: int = 1000
    inflight_timeout_s: float = 900.0

    @classmethod
    def from_settings(cls, settings) -> Policy:
        return cls(
            cooldown_s=settings.autotopup_cooldown_s,
            retry_s=parse_retry(settings.autotopup_retry_s),
            timezone=settings.timezone,
            min_cents=settings.topup_min_cents,
            max_cents=settings.topup_max_cents,
            default_threshold_cents=settings.low_balance_threshold_cents,
            inflight_timeout_s=settings.autotopup_inflight_timeout_s,
        )

    def month(self, at: datetime) -> str:
        """The local month a charge counts in towards the monthly limit."""
        return Calendar(self.timezone).month_of(at)


def new_setting(tenant_id: str, policy: Policy, now: datetime) -> AutoTopupSetting:
    """Defaults for a tenant who never saved settings: off, 50 € when below the warning threshold."""
    amount = max(policy.min_cents, min(5000, policy.max_cents))
    return AutoTopupSetting(
        tenant_id=tenant_id,
        enabled=False,
        threshold_cents=policy.default_threshold_cents,
        amount_cents=amount,
        monthly_limit_cents=amount * 10,
        state="disabled",
        updated_at=now,
    )


def rule_of(row: AutoTopupSetting) -> Rule:
    return Rule(**{name: getattr(row, name) for name in RULE_FIELDS})


def apply_rule(row: AutoTopupSetting, rule: Rule, now: datetime) -> None:
    for name in RULE_FIELDS:
        setattr(row, name, getattr(rule, name))
    row.updated_at = now


async def locked_setting(session: AsyncSession, tenant_id: str) -> AutoTopupSetting | None:
    return await session.get(AutoTopupSetting, tenant_id, with_for_update=True, populate_existing=True)


async def locked_charge(session: AsyncSession, trigger_id: str) -> AutoTopupCharge | None:
    return await session.get(AutoTopupCharge, trigger_id, with_for_update=True, populate_existing=True)


async def spent_this_month(session: AsyncSession, tenant_id: str, month: str) -> int:
    c = charges_table.c
    query = sa.select(sa.func.coalesce(sa.func.sum(c.amount_cents), 0)).where(
        c.tenant_id == tenant_id, c.month == month, c.status.in_(COUNTED)
    )
    return int((await session.execute(query)).scalar() or 0)


def portal_events(tenant_id: str, notices: list[Notice], *, key: str, at: datetime) -> list[PortalEvent]:
    """Ids derive from `key` (the trigger id, or tenant+month): a replayed outcome is de-duplicated."""
    return [
        PortalEvent(
            id="evt_" + uuid5(NAMESPACE_URL, f"{n.type}:{tenant_id}:{key}").hex,
            type=n.type,
            tenant_id=tenant_id,
            occurred_at=at,
            data=n.data,
        )
        for n in notices
    ]


async def ensure_setting(session: AsyncSession, tenant_id: str, policy: Policy) -> AutoTopupSetting:
    """The tenant's settings row, locked; created with the defaults (off) when missing."""
    row = await locked_setting(session, tenant_id)
    if row is not None:
        return row
    defaults = new_setting(tenant_id, policy, datetime.now(UTC)).model_dump()
    await session.execute(pg_insert(settings_table).values(**defaults).on_conflict_do_nothing())
    row = await locked_setting(session, tenant_id)
    assert row is not None
    return row
