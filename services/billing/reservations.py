"""Holds: a platform reserves before it starts a call, settles the actual usage, or releases.

Available balance = balance − active holds. All three operations are idempotent by their ids.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from contracts.base import new_id, utcnow
from contracts.billing.v1 import Release, ReleaseReply, Reserve, ReserveReply, Settle, SettleReply
from runtime.db import Database
from runtime.inbox import claim_new
from services.billing import repository
from services.billing.deps import BillingDeps
from services.billing.tables import Hold
from services.billing.use_cases import USAGE_CONSUMER, Entry, post_entries, usage_posting

holds = repository.holds


async def reserve(*, deps: BillingDeps, req: Reserve) -> ReserveReply:
    now = utcnow()
    async with deps.db.transaction() as session:
        states = await repository.lock_accounts(
            session, [req.tenant_id], now=now, default_threshold=deps.default_threshold_cents
        )
        state = states[req.tenant_id]
        existing = (await session.execute(sa.select(holds).where(holds.c.request_id == req.id))).first()
        if existing is not None:  # the same request again: the same answer, whatever the balance now
            live = existing.status == "active" and existing.expires_at > now
            ok = (live or existing.status == "settled") and existing.tenant_id == req.tenant_id
            return ReserveReply(
                ok=ok, reservation_id=existing.id if ok else None, available_cents=state.available_cents
            )
        refused = state.available_cents < req.amount_cents
        hold = Hold(
            id=new_id("res_")[:40],
            request_id=req.id,
            tenant_id=req.tenant_id,
            amount_cents=req.amount_cents,
            expires_at=now + timedelta(seconds=req.ttl_s),
            created_at=now,
            status="refused" if refused else "active",
        )
        session.add(hold)  # a refusal is recorded too: a retry of this id is refused again, never a late hold
        if refused:
            return ReserveReply(ok=False, reservation_id=None, available_cents=state.available_cents)
        return ReserveReply(ok=True, reservation_id=hold.id, available_cents=state.available_cents - req.amount_cents)


async def settle(*, deps: BillingDeps, req: Settle) -> SettleReply:
    now = utcnow()
    async with deps.db.transaction() as session:
        hold = await session.get(Hold, req.reservation_id, with_for_update=True)
        if hold is None or hold.tenant_id != req.usage.tenant_id or hold.status == "refused":
            return SettleReply(ok=False, error={"code": "not_found", "message": "unknown reservation"})
        if hold.status == "settled":
            states = await repository.lock_accounts(
                session, [hold.tenant_id], now=now, default_threshold=deps.default_threshold_cents
            )
            s = states[hold.tenant_id]
            return SettleReply(
                ok=True,
                transaction_id=hold.settled_transaction_id,
                balance_cents=s.balance_cents,
                available_cents=s.available_cents,
            )
        hold.status = "settled"
        session.add(hold)
        await session.flush()
        fresh = await claim_new(session, consumer=USAGE_CONSUMER, message_ids=[req.usage.id])
        posted = []
        if fresh:
            posted = await post_entries(
                session,
                [Entry(req.usage.tenant_id, usage_posting(req.usage), req.usage.occurred_at, req.usage.quantity)],
                deps=deps,
            )
        hold.settled_transaction_id = posted[0].tx_id if posted else None
        session.add(hold)
        await session.flush()
        s = (
            await repository.lock_accounts(
                session, [hold.tenant_id], now=now, default_threshold=deps.default_threshold_cents
            )
        )[hold.tenant_id]
        return SettleReply(
            ok=True,
            transaction_id=hold.settled_transaction_id,
            balance_cents=s.balance_cents,
            available_cents=s.available_cents,
        )


async def release(*, deps: BillingDeps, req: Release) -> ReleaseReply:
    now = utcnow()
    async with deps.db.transaction() as session:
        hold = await session.get(Hold, req.reservation_id, with_for_update=True)
        if hold is None or hold.status == "refused":
            return ReleaseReply(ok=False, error={"code": "not_found", "message": "unknown reservation"})
        if hold.status == "active":
            hold.status = "released"
            session.add(hold)
            await session.flush()
        s = (
            await repository.lock_accounts(
                session, [hold.tenant_id], now=now, default_threshold=deps.default_threshold_cents
            )
        )[hold.tenant_id]
        return ReleaseReply(ok=True, available_cents=s.available_cents)


async def expire_holds(*, db: Database) -> int:
    """Mark expired holds (they already stopped counting at `expires_at`); keeps the table honest."""
    async with db.transaction() as session:
        result = await session.execute(
            sa.update(holds).where(holds.c.status == "active", holds.c.expires_at <= utcnow()).values(status="expired")
        )
    return getattr(result, "rowcount", 0) or 0  # a CursorResult's
