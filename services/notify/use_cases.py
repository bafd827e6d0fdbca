"""Notify's consuming use cases: remember tenants' contacts, turn portal events into delivery jobs.

Jobs are written in the consuming transaction (inbox first), so an acknowledged event always has
its jobs, and a redelivered one adds none: each job's key is event × channel × recipient.
"""

from __future__ import annotations

from datetime import datetime

from contracts.base import new_id, utcnow
from contracts.billing.v1 import AccountUpdated
from contracts.portal.catalog import NOTIFIABLE
from contracts.portal.v1 import PortalEvent
from runtime.db import Database
from runtime.inbox import claim_new
from runtime.newest import keep_newest
from services.notify import repository
from services.notify.channels.registry import REGISTRY
from services.notify.channels.webhook import new_webhook_id
from services.notify.delivery import WEBHOOK
from services.notify.jobs import Audience
from services.notify.preferences import channels_for, load_overrides

ACCOUNTS_CONSUMER = "notify-account-updated"
PORTAL_CONSUMER = "notify-portal"


async def remember_contacts(*, db: Database, events: list[AccountUpdated]) -> None:
    """Keep the newest profile per tenant (events may arrive out of order)."""
    async with db.transaction() as session:
        fresh = await claim_new(session, consumer=ACCOUNTS_CONSUMER, message_ids=[e.event_id for e in events])
        await keep_newest(
            session,
            repository.contacts,
            [
                {
                    "tenant_id": e.profile.tenant_id,
                    "name": e.profile.name,
                    "email": e.profile.email,
                    "phone": e.profile.phone or None,
                    "locale": e.profile.locale,
                    "updated_at": e.occurred_at,
                }
                for e in events
                if e.event_id in fresh
            ],
        )


async def plan_deliveries(*, db: Database, events: list[PortalEvent]) -> set[str]:
    """Write the delivery jobs of newly seen events; answer the channels that got new jobs."""
    async with db.transaction() as session:
        fresh_ids = await claim_new(session, consumer=PORTAL_CONSUMER, message_ids=[e.id for e in events])
        fresh = list({e.id: e for e in events if e.id in fresh_ids}.values())
        if not fresh:
            return set()
        notified = {e.tenant_id for e in fresh if e.type in NOTIFIABLE}
        overrides = await load_overrides(session, notified)
        contacts = await repository.contacts_of(session, notified)
        subscriptions = await repository.subscriptions_of(session, notified)
        endpoints = await repository.enabled_endpoints_of(session, {e.tenant_id for e in fresh})
        now = utcnow()
        rows = []
        for event in fresh:
            t = event.tenant_id
            audience = Audience(contacts.get(t), overrides.get(t, {}), subscriptions.get(t, []), endpoints[t])
            rows.extend(jobs_for(event, audience, now=now))
        return await repository.insert_jobs(session, rows)


def jobs_for(event: PortalEvent, audience: Audience, *, now: datetime) -> list[dict]:
    payload = {"data": event.data, "occurred_at": event.occurred_at.isoformat()}

    def job(channel: str, target: str = "", webhook_id: str | None = None) -> dict:
        key = f"{event.id}:{channel}:{target}" if target else f"{event.id}:{channel}"
        return {
            "id": new_id("dlv_")[:40],
            "key": key,
            "tenant_id": event.tenant_id,
            "event_id": event.id,
            "event_type": event.type,
            "channel": channel,
            "target": target,
            "payload": payload,
            "webhook_id": webhook_id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }

    rows = [
        job(channel, target)
        for channel in channels_for(audience.overrides, event.type)
        for target in REGISTRY[channel].targets(audience)
    ]
    rows.extend(
        job(WEBHOOK, endpoint_id, new_webhook_id()) for endpoint_id, types in audience.endpoints if event.type in types
    )
    return rows
