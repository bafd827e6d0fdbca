"""Notify's persistence: contacts, preferences, push subscriptions, webhook endpoints, delivery jobs
and the delivery log (one row per attempt)."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from runtime.tables import TIMESTAMPTZ


class Contact(SQLModel, table=True):
    """The tenant's profile as billing last announced it (billing.account.updated.v1)."""

    __tablename__ = "contacts"
    tenant_id: str = Field(primary_key=True, max_length=64)
    name: str = ""
    email: str = ""
    phone: str | None = None
    locale: str = "de"
    updated_at: datetime = Field(sa_type=TIMESTAMPTZ)


class Preference(SQLModel, table=True):
    """A tenant's choice for one event type; event types without a row keep the defaults."""

    __tablename__ = "preferences"
    tenant_id: str = Field(primary_key=True, max_length=64)
    event_type: str = Field(primary_key=True, max_length=64)
    channels: str = ""  # comma-separated, "" = none
    updated_at: datetime = Field(sa_type=TIMESTAMPTZ)


class PushSubscriptionRow(SQLModel, table=True):
    __tablename__ = "push_subscriptions"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "endpoint", name="uq_push_tenant_endpoint"),)
    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64, index=True)
    endpoint: str
    p256dh: str
    auth: str
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoints"
    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64, index=True)
    url: str
    events: str  # comma-separated event types
    secret: str
    status: str = Field(default="enabled", max_length=16)
    disabled_reason: str | None = None
    failing_since: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)


class DeliveryJob(SQLModel, table=True):
    """One notification to send: event × channel × recipient/endpoint, unique by `key`."""

    __tablename__ = "delivery_jobs"
    __table_args__ = (sa.Index("ix_jobs_due", "status", "channel", "next_attempt_at"),)
    id: str = Field(primary_key=True, max_length=40)
    key: str = Field(max_length=200, unique=True)
    tenant_id: str = Field(max_length=64)
    event_id: str = Field(max_length=64)
    event_type: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    target: str = Field(max_length=64, index=True)  # push subscription / webhook endpoint id, or ""
    payload: dict[str, Any] = Field(sa_type=sa.JSON)
    webhook_id: str | None = Field(default=None, max_length=64)
    status: str = Field(default="pending", max_length=16)  # pending, sending (leased), delivered, …
    replay_requested: bool = False  # a replay asked for while an attempt was in flight
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=TIMESTAMPTZ)
    last_error: str | None = None
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)
    updated_at: datetime = Field(sa_type=TIMESTAMPTZ)


class DeliveryAttempt(SQLModel, table=True):
    __tablename__ = "delivery_attempts"
    __table_args__ = (sa.Index("ix_attempts_target_time", "target", "attempted_at"),)
    id: str = Field(primary_key=True, max_length=40)
    job_id: str = Field(max_length=40, index=True)
    tenant_id: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    target: str = Field(max_length=64)
    webhook_id: str | None = Field(default=None, max_length=64)
    event_type: str = Field(max_length=64)
    attempt: int
    outcome: str = Field(max_length=16)
    status_code: int | None = None
    error: str | None = None
    response_snippet: str | None = None
    duration_ms: int = 0
    attempted_at: datetime = Field(sa_type=TIMESTAMPTZ)
