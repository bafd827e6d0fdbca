"""The periodic sweep (AUTOTOPUP_MONITOR_S): catches missed triggers and retries due failed charges.

Safe with several replicas at once: each tenant is decided in its own transaction that first
locks the tenant's account row `FOR UPDATE SKIP LOCKED` (the same lock a debit takes). A replica
that finds the row locked skips the tenant — whoever holds it decides; one that gets it after
a charge was requested reads `in_flight` (or the cooldown) and does nothing.
"""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
import structlog

from contracts.base import utcnow
from runtime.db import Database
from services.billing.autotopup import store
from services.billing.autotopup.trigger import evaluate
from services.billing.tables import Account

log = structlog.get_logger(__name__)
accounts = Account.__table__


async def candidates(db: Database, *, limit: int) -> list[str]:
    """Tenants whose enabled, idle rule sees a balance below its threshold (the rule decides the rest)."""
    s, a = store.settings_table.c, accounts.c
    query = (sa.select(s.tenant_id).join(accounts, a.tenant_id == s.tenant_id)
             .where(s.enabled.is_(True), s.state == "idle", a.balance_cents < s.threshold_cents)
             .order_by(s.tenant_id).limit(limit))
    async with db.sessions() as session:
        return list((await session.execute(query)).scalars())


async def sweep(*, db: Database, policy: store.Policy, limit: int = 1000) -> int:
    """One pass; answers how many charges it requested."""
    requested = 0
    for tenant_id in await candidates(db, limit=limit):
        async with db.transaction() as session:
            query = (sa.select(accounts.c.balance_cents).where(accounts.c.tenant_id == tenant_id)
                     .with_for_update(skip_locked=True))
            balance = (await session.execute(query)).scalar()
            if balance is None:
                continue  # another replica or a debit batch holds this tenant right now
            decision = await evaluate(session, tenant_id, balance_cents=balance, policy=policy, now=utcnow())
            requested += bool(decision and decision.charge)
    return requested


def monitor_job(db: Database, policy: store.Policy, interval_s: float):
    async def autotopup_monitor_job() -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                requested = await sweep(db=db, policy=policy)
            except Exception as exc:
                log.warning("autotopup.monitor_failed", error=repr(exc))
                continue
            if requested:
                log.info("autotopup.monitor_requested", charges=requested)

    return autotopup_monitor_job
