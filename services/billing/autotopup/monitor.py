"""The periodic sweep (AUTOTOPUP_MONITOR_S): catches missed triggers, retries due failed charges,
and asks about charges in flight for too long.

Safe with several replicas at once: each tenant is decided in its own transaction that first
locks the tenant's account row `FOR UPDATE SKIP LOCKED` (the same lock a debit takes). A replica
that finds the row locked skips the tenant — whoever holds it decides; one that gets it after
a charge was requested reads `in_flight` (or the cooldown) and does nothing.

**No charge hangs.** A charge still `requested` AUTOTOPUP_INFLIGHT_TIMEOUT_S after it was requested
(or last asked about) makes the monitor send `AutoTopupCheckRequested`: payments looks the charge up
at Stripe and answers with its real outcome (TopupPaid / TopupFailed), which settles the rule the
usual way. The question is repeated every timeout until an answer settles it (a Stripe outage longer
than that only delays it). The charge row is locked `SKIP LOCKED`, so replicas ask once.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa
import structlog

from contracts.base import utcnow
from contracts.billing.v1 import AutoTopupCheckRequested
from runtime import outbox
from runtime.db import Database
from runtime.tables import table_of
from services.billing.autotopup import store
from services.billing.autotopup.tables import AutoTopupCharge
from services.billing.autotopup.trigger import evaluate
from services.billing.tables import Account

log = structlog.get_logger(__name__)
accounts = table_of(Account)


async def candidates(db: Database, *, limit: int) -> list[str]:
    """Tenants whose enabled, idle rule sees a balance below its threshold (the rule decides the rest)."""
    s, a = store.settings_table.c, accounts.c
    query = (
        sa.select(s.tenant_id)
        .join(accounts, a.tenant_id == s.tenant_id)
        .where(s.enabled.is_(True), s.state == "idle", a.balance_cents < s.threshold_cents)
        .order_by(s.tenant_id)
        .limit(limit)
    )
    async with db.sessions() as session:
        return list((await session.execute(query)).scalars())


async def sweep(*, db: Database, policy: store.Policy, limit: int = 1000) -> int:
    """One pass; answers how many charges it requested."""
    requested = 0
    for tenant_id in await candidates(db, limit=limit):
        async with db.transaction() as session:
            query = (
                sa.select(accounts.c.balance_cents)
                .where(accounts.c.tenant_id == tenant_id)
                .with_for_update(skip_locked=True)
            )
            balance = (await session.execute(query)).scalar()
            if balance is None:
                continue  # another replica or a debit batch holds this tenant right now
            decision = await evaluate(session, tenant_id, balance_cents=balance, policy=policy, now=utcnow())
            requested += bool(decision and decision.charge)
    return requested


async def overdue_charges(db: Database, *, policy: store.Policy, limit: int = 1000) -> int:
    """Ask payments about every charge in flight past its deadline; answers how many were asked about."""
    c, s = store.charges_table.c, store.settings_table.c
    now = utcnow()
    deadline = now - timedelta(seconds=policy.inflight_timeout_s)
    query = (
        sa.select(c.trigger_id)
        .join(store.settings_table, s.current_trigger_id == c.trigger_id)
        .where(c.status == "requested", s.state == "in_flight", sa.func.coalesce(c.checked_at, c.created_at) < deadline)
        .order_by(c.created_at)
        .limit(limit)
    )
    async with db.sessions() as session:
        overdue = list((await session.execute(query)).scalars())
    asked = 0
    for trigger_id in overdue:
        async with db.transaction() as session:
            locked = sa.select(AutoTopupCharge).where(
                c.trigger_id == trigger_id,
                c.status == "requested",
                sa.func.coalesce(c.checked_at, c.created_at) < deadline,
            )
            charge = (await session.execute(locked.with_for_update(skip_locked=True))).scalar_one_or_none()
            if charge is None:
                continue  # settled meanwhile, or another replica asks right now
            charge.checked_at = now
            session.add(charge)
            await outbox.add(
                session,
                [
                    AutoTopupCheckRequested(
                        event_id=f"evt_atc_{trigger_id}_{int(now.timestamp())}",
                        tenant_id=charge.tenant_id,
                        trigger_id=trigger_id,
                        amount_cents=charge.amount_cents,
                        requested_at=charge.created_at,
                    )
                ],
            )
            asked += 1
            log.warning(
                "autotopup.charge_overdue",
                tenant_id=charge.tenant_id,
                trigger_id=trigger_id,
                requested_at=charge.created_at.isoformat(),
            )
    return asked


def monitor_job(db: Database, policy: store.Policy, interval_s: float):
    async def autotopup_monitor_job() -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                requested = await sweep(db=db, policy=policy)
                asked = await overdue_charges(db=db, policy=policy)
            except Exception as exc:
                log.warning("autotopup.monitor_failed", error=repr(exc))
                continue
            if requested or asked:
                log.info("autotopup.monitor", charges_requested=requested, overdue_checked=asked)

    return autotopup_monitor_job
