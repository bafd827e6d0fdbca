"""Promotional credit grants (the admin API, `GET /v1/grants`): create, list, void.

A grant is recorded once per (tenant, idempotency key) in one transaction with its `grant` posting
(description = the reason). As with adjustments, the tenant's account row is locked first: concurrent
requests with one key queue on it, and every one after the first finds the recorded grant. A grant's
`remaining_cents` changes only under that lock (usage debits, expiry, void), so the debit path reads
the open grants without locking them (docs/architecture.md, "Promotional credit").
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import new_id, utcnow
from contracts.billing.v1 import CreateGrant, GrantList, GrantReply, GrantView, NextExpiry
from runtime.refusals import IdempotencyConflict, Invalid, NotFound
from runtime.tables import table_of
from services.billing import grant_notices
from services.billing.deps import BillingDeps
from services.billing.domain import grants as rules
from services.billing.domain.ledger import Posting
from services.billing.tables import Account, Grant
from services.billing.use_cases import Entry, post_entries

grants = table_of(Grant)
LIST_LIMIT = 1000


def view(grant: Grant) -> GrantView:
    return GrantView(
        id=grant.id,
        amount_cents=grant.amount_cents,
        remaining_cents=grant.remaining_cents,
        expires_at=grant.expires_at,
        priority=grant.priority,
        reason=grant.reason,
        created_at=grant.created_at,
    )


async def create_grant(*, deps: BillingDeps, req: CreateGrant) -> GrantReply:
    now = utcnow()
    try:
        reason = rules.checked_reason(req.reason)
        rules.check_expires_in_future(req.expires_at, now=now)
    except rules.InvalidGrant as exc:
        raise Invalid(str(exc)) from exc
    requested = (req.amount_cents, reason, req.expires_at, req.priority)
    async with deps.db.transaction() as session:
        if await session.get(Account, req.tenant_id, with_for_update=True) is None:
            raise NotFound("tenant not found")
        same_key = sa.select(Grant).where(
            grants.c.tenant_id == req.tenant_id, grants.c.idempotency_key == req.idempotency_key
        )
        existing = (await session.execute(same_key)).scalar_one_or_none()
        if existing is not None:  # the same request again: the grant as it is now
            stored = (existing.amount_cents, existing.reason, existing.expires_at, existing.priority)
            try:
                rules.check_same_request(stored, requested)
            except rules.NotTheSameGrant as exc:
                raise IdempotencyConflict(str(exc)) from exc
            return GrantReply(grant=view(existing), created=False)
        grant_id = new_id("grt_")[:40]
        posting = Posting("grant", req.amount_cents, f"grant:{grant_id}", reason, grant_id)
        posted = await post_entries(session, [Entry(req.tenant_id, posting)], deps=deps)
        grant = Grant(
            id=grant_id,
            tenant_id=req.tenant_id,
            idempotency_key=req.idempotency_key,
            amount_cents=req.amount_cents,
            remaining_cents=req.amount_cents,
            priority=req.priority,
            expires_at=req.expires_at,
            reason=reason,
            transaction_id=posted[0].tx_id,
            created_at=now,
        )
        await grant_notices.announce_if_due(session, grant, notice_days=deps.grant_notice_days, now=now)
        session.add(grant)
        await session.flush()
        return GrantReply(grant=view(grant), created=True)


async def list_grants(*, deps: BillingDeps, tenant_id: str) -> GrantList:
    """Newest first: every grant of the tenant, used up, expired and voided ones too."""
    query = (
        sa.select(Grant)
        .where(grants.c.tenant_id == tenant_id)
        .order_by(grants.c.created_at.desc(), grants.c.id.desc())
        .limit(LIST_LIMIT)
    )
    async with deps.db.sessions() as session:
        rows = (await session.execute(query)).scalars().all()
    return GrantList(items=[view(g) for g in rows])


async def void_grant(*, deps: BillingDeps, grant_id: str) -> GrantReply:
    """What the grant has left leaves as one `expiry` posting; a closed grant is answered as it is."""
    async with deps.db.transaction() as session:
        tenant_id = (await session.execute(sa.select(grants.c.tenant_id).where(grants.c.id == grant_id))).scalar()
        if tenant_id is None:
            raise NotFound("grant not found")
        await session.get(Account, tenant_id, with_for_update=True)  # lock order: account → grants
        grant = await session.get(Grant, grant_id, with_for_update=True, populate_existing=True)
        assert grant is not None
        if grant.status != "open":
            return GrantReply(grant=view(grant), created=False)
        await close(session, grant, status="voided", deps=deps)
        return GrantReply(grant=view(grant), created=True)


async def close(session: AsyncSession, grant: Grant, *, status: str, deps: BillingDeps) -> int:
    """Close an open grant (its account locked): post what it has left as its one `expiry` entry
    (source key `expiry:<grant id>`, unique in the ledger) and answer that amount."""
    left = grant.remaining_cents
    if left > 0:
        posting = Posting("expiry", -left, f"expiry:{grant.id}", grant.reason, grant.id)
        await post_entries(session, [Entry(grant.tenant_id, posting)], deps=deps)
    grant.remaining_cents = 0
    grant.status = status
    grant.closed_at = utcnow()
    session.add(grant)
    await session.flush()
    return left


async def promotional(session: AsyncSession, tenant_id: str) -> tuple[int, NextExpiry | None]:
    """Σ what the tenant's open grants have left, and the next expiry (the grants expiring soonest)."""
    rows = (
        await session.execute(
            sa.select(grants.c.remaining_cents, grants.c.expires_at).where(
                grants.c.tenant_id == tenant_id, grants.c.status == "open", grants.c.remaining_cents > 0
            )
        )
    ).all()
    total = sum(int(r.remaining_cents) for r in rows)
    expiring = [r for r in rows if r.expires_at is not None]
    if not expiring:
        return total, None
    soonest: datetime = min(r.expires_at for r in expiring)
    amount = sum(int(r.remaining_cents) for r in expiring if r.expires_at == soonest)
    return total, NextExpiry(amount_cents=amount, expires_at=soonest)
