"""The grant job: at `expires_at` what a grant has left leaves as its one `expiry` entry
(`credits.expired`), and `credits.expiring` goes out once, `GRANT_EXPIRY_NOTICE_DAYS` before.

Safe with any number of replicas running it at once:
- expiry locks the due tenants' accounts first (tenant order, as every posting does: lock order
  account → grant, so it never deadlocks with a debit), then their due grants `FOR UPDATE SKIP LOCKED`,
  and closes each in the same transaction as its posting; a second runner waiting on the same account
  finds the grant closed. The ledger's unique source key `expiry:<grant id>` is the backstop;
- a notice marks `notice_sent_at` in the transaction that stages its event, on rows locked `SKIP LOCKED`.
A debit racing the expiry of the same grant queues on the account lock: the grant's cents are either
drawn by the debit (it came first and the grant had not expired at its moment) or expire, never both.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from contracts.base import utcnow
from contracts.portal.v1 import PortalEvent
from runtime import outbox
from services.billing import grant_notices, grants, repository
from services.billing.deps import BillingDeps
from services.billing.tables import Grant

g = grants.grants
BATCH = 100


async def run(*, deps: BillingDeps, now: datetime | None = None) -> tuple[int, int]:
    """One sweep: every due grant expired and every due notice sent; answers (expired, notified)."""
    now = now or utcnow()
    expired = notified = 0
    while (n := await expire_due(deps=deps, now=now)) > 0:
        expired += n
    while (n := await send_notices(deps=deps, now=now)) > 0:
        notified += n
    return expired, notified


async def expire_due(*, deps: BillingDeps, now: datetime, limit: int = BATCH) -> int:
    """Close up to `limit` tenants' grants whose `expires_at` has come; answers how many were closed."""
    due = sa.and_(g.c.status == "open", g.c.expires_at <= now)
    async with deps.db.transaction() as session:
        tenants = (
            (await session.execute(sa.select(g.c.tenant_id).where(due).distinct().order_by(g.c.tenant_id).limit(limit)))
            .scalars()
            .all()
        )
        if not tenants:
            return 0
        await repository.lock_accounts(session, tenants, now=now, default_threshold=deps.default_threshold_cents)
        rows = (
            (
                await session.execute(
                    sa.select(Grant)
                    .where(due, g.c.tenant_id.in_(tenants))
                    .order_by(g.c.tenant_id, g.c.expires_at, g.c.id)
                    .with_for_update(skip_locked=True)
                    .execution_options(populate_existing=True)
                )
            )
            .scalars()
            .all()
        )
        events = []
        for grant in rows:
            left = await grants.close(session, grant, status="expired", deps=deps)
            if left > 0:  # a grant used up before its expiry expires silently: nothing left to tell
                events.append(
                    PortalEvent(
                        type="credits.expired",
                        tenant_id=grant.tenant_id,
                        data={"grant_id": grant.id, "amount_cents": left},
                    )
                )
        await outbox.add(session, events)
        return len(rows)


async def send_notices(*, deps: BillingDeps, now: datetime, limit: int = BATCH) -> int:
    """`credits.expiring` once for each open grant that expires within the notice period."""
    horizon = now + timedelta(days=deps.grant_notice_days)
    async with deps.db.transaction() as session:
        rows = (
            (
                await session.execute(
                    sa.select(Grant)
                    .where(
                        g.c.status == "open",
                        g.c.notice_sent_at.is_(None),
                        g.c.remaining_cents > 0,
                        g.c.expires_at > now,
                        g.c.expires_at <= horizon,
                    )
                    .order_by(g.c.expires_at, g.c.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        for grant in rows:
            grant.notice_sent_at = now
            session.add(grant)
        await outbox.add(session, [grant_notices.expiring(grant) for grant in rows])
        return len(rows)
