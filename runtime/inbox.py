"""Inbox: the first statement of a consuming transaction records the incoming message ids.

A duplicate (already recorded by an earlier, committed transaction) is skipped. Two concurrent
transactions with the same id serialize on the primary key: the second one sees the conflict.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import utcnow
from runtime.tables import inbox, period_claims


async def claim_new(session: AsyncSession, *, consumer: str, message_ids: Iterable[str]) -> set[str]:
    """Record `message_ids` for `consumer`; answer the ones never seen before."""
    ids = list(dict.fromkeys(message_ids))
    if not ids:
        return set()
    now = utcnow()
    stmt = (
        pg_insert(inbox)
        .values([{"consumer": consumer, "message_id": i, "received_at": now} for i in ids])
        .on_conflict_do_nothing()
        .returning(inbox.c.message_id)
    )
    result = await session.execute(stmt)
    return {row[0] for row in result}


async def claim_period(session: AsyncSession, *, job: str, period: str, holder: str) -> bool:
    """True for exactly one caller per (job, period), across replicas: periodic jobs run once."""
    stmt = (
        pg_insert(period_claims)
        .values(job=job, period=period, claimed_by=holder, claimed_at=utcnow())
        .on_conflict_do_nothing()
        .returning(period_claims.c.job)
    )
    result = await session.execute(stmt)
    return result.first() is not None
