"""`credits.expiring`: once per grant, `GRANT_EXPIRY_NOTICE_DAYS` before it expires (`notice_sent_at`
is set in the transaction that stages the event), at once for a grant made with less time to run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.portal.v1 import PortalEvent
from runtime import outbox
from services.billing.domain.grants import notice_due
from services.billing.tables import Grant


def expiring(grant: Grant) -> PortalEvent:
    assert grant.expires_at is not None
    return PortalEvent(
        type="credits.expiring",
        tenant_id=grant.tenant_id,
        data={"grant_id": grant.id, "amount_cents": grant.remaining_cents, "expires_at": grant.expires_at},
    )


async def announce_if_due(session: AsyncSession, grant: Grant, *, notice_days: int, now: datetime) -> None:
    """For a grant being made: tell the customer now when it expires within the notice period."""
    if grant.expires_at is not None and notice_due(grant.expires_at, notice_days=notice_days) <= now:
        grant.notice_sent_at = now
        await outbox.add(session, [expiring(grant)])
