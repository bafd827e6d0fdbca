"""The one place a charge is requested, always with the tenant's account row locked FOR UPDATE.

Every caller (the debit's transaction via `after_postings`, the monitor, saving the settings)
holds that lock, so the state read by `decide` cannot change under it: two replicas, two batches
or two monitors for one tenant serialize on the row, and the second one finds `in_flight`.
Lock order everywhere: account → autotopup_settings → autotopup_charges (no deadlocks).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import utcnow
from contracts.billing.v1 import AutoTopupRequested
from runtime import outbox
from services.billing.autotopup import store
from services.billing.autotopup.tables import AutoTopupCharge
from services.billing.domain import autotopup as rules
from services.billing.domain.ledger import AccountState


async def after_postings(session: AsyncSession, changed: Mapping[str, AccountState], *, policy: store.Policy) -> None:
    """Hook of `post_entries` (accounts locked, balances computed): one decision per tenant and batch."""
    if not changed:
        return
    c = store.settings_table.c
    query = sa.select(c.tenant_id, c.threshold_cents).where(
        c.tenant_id.in_(sorted(changed)), c.enabled.is_(True), c.state == "idle"
    )
    rows = (await session.execute(query)).all()
    due = sorted(r.tenant_id for r in rows if changed[r.tenant_id].balance_cents < r.threshold_cents)
    if not due:
        return
    now = utcnow()
    for tenant_id in due:
        await evaluate(session, tenant_id, balance_cents=changed[tenant_id].balance_cents, policy=policy, now=now)


async def evaluate(
    session: AsyncSession, tenant_id: str, *, balance_cents: int, policy: store.Policy, now: datetime
) -> rules.Decision | None:
    """Decide for one tenant (caller holds the account lock); request the charge or tell the customer."""
    row = await store.locked_setting(session, tenant_id)
    if row is None:
        return None
    rule, month = store.rule_of(row), policy.month(now)
    spent = await store.spent_this_month(session, tenant_id, month)
    decision = rules.decide(
        rule,
        balance_cents=balance_cents,
        now=now,
        month=month,
        spent_this_month_cents=spent,
        cooldown_s=policy.cooldown_s,
    )
    if decision.charge and decision.trigger_id:
        trigger = decision.trigger_id
        rule = rules.charge_requested(rule, trigger_id=trigger, now=now)
        session.add(
            AutoTopupCharge(
                trigger_id=trigger,
                tenant_id=tenant_id,
                amount_cents=rule.amount_cents,
                month=month,
                status="requested",
                created_at=now,
                updated_at=now,
            )
        )
        notice = rules.Notice(
            "autotopup.triggered",
            {
                "trigger_id": trigger,
                "amount_cents": rule.amount_cents,
                "balance_cents": balance_cents,
                "threshold_cents": rule.threshold_cents,
            },
        )
        events: list = [
            AutoTopupRequested(
                event_id=f"evt_atr_{trigger}",
                tenant_id=tenant_id,
                trigger_id=trigger,
                amount_cents=rule.amount_cents,
                payment_method_id=row.default_payment_method_id,
                occurred_at=now,
            )
        ]
        events += store.portal_events(tenant_id, [notice], key=trigger, at=now)
    elif decision.notify_monthly_limit:
        rule = rules.monthly_limit_notified(rule, month=month)
        notice = rules.Notice(
            "autotopup.failed",
            {
                "reason": "monthly_limit",
                "monthly_limit_cents": rule.monthly_limit_cents,
                "spent_this_month_cents": spent,
                "amount_cents": rule.amount_cents,
                "month": month,
            },
        )
        events = store.portal_events(tenant_id, [notice], key=f"{month}:{rule.monthly_limit_cents}", at=now)
    else:
        return decision
    store.apply_rule(row, rule, now)
    session.add(row)
    await outbox.add(session, events)
    return decision
