"""Notify persistence operations shared by the use cases and the scheduler."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.tables import table_of
from services.notify.tables import Contact, DeliveryJob, PushSubscriptionRow, WebhookEndpoint

contacts = table_of(Contact)
jobs = table_of(DeliveryJob)
subscriptions = table_of(PushSubscriptionRow)
endpoints = table_of(WebhookEndpoint)


async def relaxed_commit(session: AsyncSession) -> None:
    """Commit without waiting for the disk: for writes whose loss in a crash only means a job is
    sent once more, never one that acknowledges a message."""
    await session.execute(sa.text("SET LOCAL synchronous_commit = off"))


def split(text: str) -> list[str]:
    return [part for part in text.split(",") if part]


async def contacts_of(session: AsyncSession, tenant_ids: Iterable[str]) -> dict[str, Contact]:
    ids = list(set(tenant_ids))
    if not ids:
        return {}
    rows = await session.execute(sa.select(Contact).where(Contact.tenant_id.in_(ids)))
    return {c.tenant_id: c for c in rows.scalars()}


async def subscriptions_of(session: AsyncSession, tenant_ids: Iterable[str]) -> dict[str, list]:
    ids = list(set(tenant_ids))
    found: dict[str, list] = {t: [] for t in ids}
    if ids:
        query = sa.select(subscriptions.c.id, subscriptions.c.tenant_id).where(subscriptions.c.tenant_id.in_(ids))
        for row in (await session.execute(query)).all():
            found[row.tenant_id].append(row.id)
    return found


async def enabled_endpoints_of(session: AsyncSession, tenant_ids: Iterable[str]) -> dict[str, list]:
    """Per tenant, (endpoint id, subscribed event types) of its enabled endpoints."""
    ids = list(set(tenant_ids))
    found: dict[str, list] = {t: [] for t in ids}
    if ids:
        query = sa.select(endpoints.c.id, endpoints.c.tenant_id, endpoints.c.events).where(
            endpoints.c.tenant_id.in_(ids), endpoints.c.status == "enabled"
        )
        for row in (await session.execute(query)).all():
            found[row.tenant_id].append((row.id, set(split(row.events))))
    return found


async def insert_jobs(session: AsyncSession, rows: list[dict]) -> set[str]:
    """Insert new delivery jobs; a key that exists already (a duplicate event) adds nothing.
    Answers the channels that got new jobs."""
    if not rows:
        return set()
    stmt = pg_insert(jobs).values(rows).on_conflict_do_nothing(index_elements=["key"])
    result = await session.execute(stmt.returning(jobs.c.channel))
    return {row.channel for row in result}


async def cancel_pending(session: AsyncSession, *, target: str, reason: str, now) -> None:
    """Pending jobs of a removed or disabled endpoint / subscription will never be sent."""
    await session.execute(
        sa.update(jobs)
        .where(jobs.c.target == target, jobs.c.status == "pending")
        .values(status="cancelled", last_error=reason, updated_at=now)
    )
