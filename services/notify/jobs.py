"""What a delivery is about: the job, what it needs when it is sent, and whom a tenant reaches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.notify.tables import Contact, PushSubscriptionRow, WebhookEndpoint


@dataclass(frozen=True)
class Job:
    id: str
    tenant_id: str
    event_id: str
    event_type: str
    channel: str
    target: str
    payload: dict[str, Any]
    webhook_id: str | None
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class Claimed:
    """A leased job with what sending needs: the tenant's contact, push subscription or endpoint."""

    job: Job
    contact: Contact | None = None
    subscription: PushSubscriptionRow | None = None
    endpoint: WebhookEndpoint | None = None


@dataclass(frozen=True)
class Audience:
    """What a tenant has set up to receive: contact, channel choices, push subscriptions, endpoints."""

    contact: Contact | None
    overrides: dict
    subscriptions: list
    endpoints: list
