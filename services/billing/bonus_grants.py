"""`BONUS_EXPIRES_AFTER_DAYS` (unset: the bonus is plain balance, as before): a top-up's bonus is
credited as promotional credit that expires — its `bonus` posting as always, plus a grant of the same
amount (idempotency key `bonus:<top-up id>`, reason "Bonus") that usage burns first and whose rest
leaves as an `expiry` entry that many days after the credit.

A refund reverses the bonus share PRODUCT.md gives (`domain/bonus.py`): the reversal takes back what
the bonus grant still has first, and only the rest from paid balance. What of the bonus already
expired is not taken again: the reversal is capped at the part of the bonus that did not expire
(docs/architecture.md, "Promotional credit").
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import new_id
from contracts.billing.v1 import GRANT_DEFAULT_PRIORITY
from runtime.tables import table_of
from services.billing import grant_notices
from services.billing.deps import BillingDeps
from services.billing.tables import Grant, GrantAllocation

grants = table_of(Grant)
REASON = "Bonus"


def key(topup_id: str) -> str:
    return f"bonus:{topup_id}"


async def grant_bonus(
    session: AsyncSession,
    *,
    tenant_id: str,
    topup_id: str,
    bonus_cents: int,
    transaction_id: str,
    deps: BillingDeps,
    now: datetime,
) -> None:
    """In the crediting transaction (account locked): the bonus as a grant expiring after the set days."""
    assert deps.bonus_expires_after_days is not None
    grant = Grant(
        id=new_id("grt_")[:40],
        tenant_id=tenant_id,
        idempotency_key=key(topup_id),
        amount_cents=bonus_cents,
        remaining_cents=bonus_cents,
        priority=GRANT_DEFAULT_PRIORITY,
        expires_at=now + timedelta(days=deps.bonus_expires_after_days),
        reason=REASON,
        transaction_id=transaction_id,
        created_at=now,
    )
    await grant_notices.announce_if_due(session, grant, notice_days=deps.grant_notice_days, now=now)
    session.add(grant)


async def _bonus_grant(session: AsyncSession, *, tenant_id: str, topup_id: str) -> Grant | None:
    query = sa.select(Grant).where(grants.c.tenant_id == tenant_id, grants.c.idempotency_key == key(topup_id))
    return (await session.execute(query.with_for_update())).scalar_one_or_none()


async def expired_part(session: AsyncSession, *, tenant_id: str, topup_id: str) -> int:
    """What of a top-up's bonus grant left by expiry or void (0 when the bonus is no grant)."""
    query = sa.text(
        "SELECT coalesce(sum(-t.amount_cents), 0) FROM grants g JOIN ledger_transactions t "
        "ON t.source_key = 'expiry:' || g.id WHERE g.tenant_id = :t AND g.idempotency_key = :k"
    )
    return int((await session.execute(query, {"t": tenant_id, "k": key(topup_id)})).scalar_one())


async def take_back(session: AsyncSession, *, tenant_id: str, topup_id: str, cents: int, transaction_id: str) -> int:
    """A bonus reversal (its posting made, account locked) takes what the bonus grant still has first."""
    grant = await _bonus_grant(session, tenant_id=tenant_id, topup_id=topup_id)
    if grant is None or grant.status != "open":
        return 0
    taken = min(grant.remaining_cents, cents)
    if taken > 0:
        grant.remaining_cents -= taken
        session.add(grant)
        session.add(GrantAllocation(transaction_id=transaction_id, grant_id=grant.id, amount_cents=taken))
    return taken
