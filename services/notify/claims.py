"""Claiming due delivery jobs so that several replicas share the work.

A claim is a lease: the claimed rows' `next_attempt_at` moves to the end of the lease in the same
statement that picks them (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent replicas skip
each other's rows). No transaction stays open while sending; a replica that dies mid-send leaves
its jobs to be claimed again when their lease ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import utcnow
from runtime.db import Database
from services.notify import repository
from services.notify.channels.registry import REGISTRY
from services.notify.delivery import WEBHOOK
from services.notify.jobs import Claimed, Job
from services.notify.tables import PushSubscriptionRow, WebhookEndpoint

jobs = repository.jobs
JOB_COLUMNS = (
    jobs.c.id,
    jobs.c.tenant_id,
    jobs.c.event_id,
    jobs.c.event_type,
    jobs.c.channel,
    jobs.c.target,
    jobs.c.payload,
    jobs.c.webhook_id,
    jobs.c.attempts,
    jobs.c.created_at,
)


@dataclass(frozen=True)
class Want:
    """Up to `limit` due jobs of `channel`; with `per_target`, so many per target (webhook endpoint)
    at most, counting the `in_flight` ones: a slow endpoint cannot take every slot."""

    channel: str
    limit: int
    per_target: int | None = None
    in_flight: Mapping[str, int] = field(default_factory=dict)


async def claim(db: Database, wants: list[Want], *, lease_s: float) -> list[Claimed]:
    """Lease due jobs for every channel in one transaction."""
    now = utcnow()
    picked: list[Job] = []
    async with db.sessions() as session, session.begin():  # not db.transaction(): no outbox wake-up
        await repository.relaxed_commit(session)  # a lost lease only means a later claim
        for want in wants:
            rows = (await session.execute(_lease(want, now=now, lease_s=lease_s))).all()
            picked.extend(Job(**row._mapping) for row in rows)
        return await _with_context(session, picked) if picked else []


def _lease(want: Want, *, now: datetime, lease_s: float):
    # due: waiting jobs whose time has come, and leased ones whose lease ran out (a replica died)
    due = sa.select(jobs.c.id).where(
        jobs.c.status.in_(("pending", "sending")), jobs.c.channel == want.channel, jobs.c.next_attempt_at <= now
    )
    if want.per_target is not None:
        busy = [t for t, n in want.in_flight.items() if n >= want.per_target]
        if busy:
            due = due.where(jobs.c.target.not_in(busy))
        rank = sa.func.row_number().over(partition_by=jobs.c.target, order_by=jobs.c.next_attempt_at)
        ranked = due.add_columns(jobs.c.target, rank.label("rank")).subquery()
        room = {t: want.per_target - n for t, n in want.in_flight.items() if 0 < n < want.per_target}
        allowed = sa.case(room, value=ranked.c.target, else_=want.per_target) if room else want.per_target
        due = sa.select(ranked.c.id).where(ranked.c.rank <= allowed)
    pick = (
        sa.select(jobs.c.id)
        .where(jobs.c.id.in_(due))
        .order_by(jobs.c.next_attempt_at)
        .limit(want.limit)
        .with_for_update(skip_locked=True)
    )
    lease = sa.update(jobs).where(jobs.c.id.in_(pick.scalar_subquery()))
    return lease.values(status="sending", next_attempt_at=now + timedelta(seconds=lease_s)).returning(*JOB_COLUMNS)


async def _with_context(session: AsyncSession, picked: list[Job]) -> list[Claimed]:
    """What sending needs besides the job: contact, push subscription or webhook endpoint."""
    contacts = await repository.contacts_of(session, {j.tenant_id for j in picked if j.channel != WEBHOOK})
    subs = await _by_id(session, PushSubscriptionRow, {j.target for j in picked if _by_subscription(j)})
    ends = await _by_id(session, WebhookEndpoint, {j.target for j in picked if j.channel == WEBHOOK})
    return [Claimed(j, contacts.get(j.tenant_id), subs.get(j.target), ends.get(j.target)) for j in picked]


def _by_subscription(job: Job) -> bool:
    channel = REGISTRY.get(job.channel)
    return channel is not None and channel.by_subscription


async def _by_id(session: AsyncSession, model, ids: set[str]) -> dict:
    if not ids:
        return {}
    rows = await session.execute(sa.select(model).where(model.id.in_(ids)))
    return {row.id: row for row in rows.scalars()}
