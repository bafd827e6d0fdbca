"""Webhook endpoints (create, list, delete), their delivery log and replays; push subscriptions."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from contracts.base import new_id, utcnow
from contracts.notify.v1 import DeliveriesReply, DeliveryView, IdReply, WebhookEndpointsReply, WebhookEndpointView
from contracts.portal.v1 import EVENT_TYPES
from runtime.db import Database
from runtime.refusals import Conflict, Invalid, NotFound
from services.notify import repository
from services.notify.channels.ssrf import UnsafeDestination, check_destination
from services.notify.channels.webhook import generate_secret
from services.notify.tables import DeliveryAttempt, WebhookEndpoint

jobs = repository.jobs


def view(endpoint: WebhookEndpoint, *, secret: str | None = None) -> WebhookEndpointView:
    return WebhookEndpointView(
        id=endpoint.id,
        url=endpoint.url,
        events=repository.split(endpoint.events),
        status=endpoint.status,
        disabled_reason=endpoint.disabled_reason,
        secret=secret,
        created_at=endpoint.created_at,
    )


async def check_url(url: str, *, allow_private: bool) -> None:
    try:
        await check_destination(url, allow_private=allow_private)
    except UnsafeDestination as exc:
        raise Invalid(f"url: {exc}") from exc


async def create_endpoint(
    *, db: Database, tenant_id: str, url: str, events: list[str], allow_private: bool
) -> WebhookEndpointsReply:
    unknown = [e for e in events if e not in EVENT_TYPES]
    if not events or unknown:
        raise Invalid(
            f"unknown event type {unknown[0]!r}" if unknown else "events: subscribe to at least one event type"
        )
    await check_url(url, allow_private=allow_private)
    endpoint = WebhookEndpoint(
        id=new_id("we_")[:40],
        tenant_id=tenant_id,
        url=url,
        secret=generate_secret(),
        events=",".join(dict.fromkeys(events)),
        created_at=utcnow(),
    )
    async with db.transaction() as session:
        session.add(endpoint)
    return WebhookEndpointsReply(item=view(endpoint, secret=endpoint.secret))  # the only time it is shown


async def list_endpoints(*, db: Database, tenant_id: str) -> WebhookEndpointsReply:
    async with db.sessions() as session:
        query = sa.select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id)
        found = (await session.execute(query.order_by(WebhookEndpoint.created_at.desc()))).scalars().all()
    return WebhookEndpointsReply(items=[view(e) for e in found])


async def _owned(session, *, tenant_id: str, endpoint_id: str, lock: bool = False) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id, with_for_update=lock)
    if endpoint is None or endpoint.tenant_id != tenant_id:  # a foreign id looks like a missing one
        raise NotFound("webhook endpoint not found")
    return endpoint


async def delete_endpoint(*, db: Database, tenant_id: str, endpoint_id: str) -> WebhookEndpointsReply:
    async with db.transaction() as session:
        endpoint = await _owned(session, tenant_id=tenant_id, endpoint_id=endpoint_id, lock=True)
        await repository.cancel_pending(session, target=endpoint.id, reason="endpoint deleted", now=utcnow())
        await session.delete(endpoint)
    return WebhookEndpointsReply(item=view(endpoint))


async def list_deliveries(*, db: Database, tenant_id: str, endpoint_id: str, limit: int) -> DeliveriesReply:
    async with db.sessions() as session:
        await _owned(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
        query = (
            sa.select(DeliveryAttempt)
            .where(DeliveryAttempt.target == endpoint_id)
            .order_by(DeliveryAttempt.attempted_at.desc(), DeliveryAttempt.attempt.desc())
            .limit(limit)
        )
        found = (await session.execute(query)).scalars().all()
    return DeliveriesReply(
        items=[
            DeliveryView(
                id=a.id,
                webhook_id=a.webhook_id or "",
                event_type=a.event_type,
                attempt=a.attempt,
                status_code=a.status_code,
                error=a.error,
                response_snippet=a.response_snippet,
                duration_ms=a.duration_ms,
                attempted_at=a.attempted_at,
            )
            for a in found
        ]
    )


async def replay_delivery(*, db: Database, tenant_id: str, endpoint_id: str, webhook_id: str) -> IdReply:
    """One more attempt of that message, with the same webhook-id and the next attempt number."""
    async with db.transaction() as session:
        endpoint = await _owned(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
        if endpoint.status != "enabled":
            raise Conflict("the endpoint is disabled; create a new one to receive again")
        query = sa.select(jobs.c.id, jobs.c.status).where(jobs.c.target == endpoint_id, jobs.c.webhook_id == webhook_id)
        job = (await session.execute(query.with_for_update())).first()
        if job is None:
            raise NotFound("delivery not found")
        now = utcnow()
        # in flight: the attempt under way schedules the replay when it is recorded
        again = {"replay_requested": True} if job.status == "sending" else {"status": "pending", "next_attempt_at": now}
        await session.execute(sa.update(jobs).where(jobs.c.id == job.id).values(updated_at=now, **again))
    return IdReply(id=job.id)


async def add_push_subscription(
    *, db: Database, tenant_id: str, endpoint: str, p256dh: str, auth: str, allow_private: bool
) -> IdReply:
    """Idempotent per (tenant, endpoint): a browser subscribing again refreshes its keys."""
    await check_url(endpoint, allow_private=allow_private)
    row = {
        "id": new_id("ps_")[:40],
        "tenant_id": tenant_id,
        "endpoint": endpoint,
        "p256dh": p256dh,
        "auth": auth,
        "created_at": utcnow(),
    }
    subs = repository.subscriptions
    async with db.transaction() as session:
        stmt = pg_insert(subs).values(row)
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant_id", "endpoint"], set_={"p256dh": stmt.excluded.p256dh, "auth": stmt.excluded.auth}
        )
        sub_id = (await session.execute(stmt.returning(subs.c.id))).scalar_one()
    return IdReply(id=sub_id)
