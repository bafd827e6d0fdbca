"""Payments' persistence (not its domain): Stripe customers, top-ups, saved cards, refunds, Stripe events."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from runtime.tables import TIMESTAMPTZ


class StripeCustomer(SQLModel, table=True):
    __tablename__ = "stripe_customers"
    tenant_id: str = Field(primary_key=True, max_length=64)
    customer_id: str = Field(max_length=255, unique=True)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)


class CustomerProfile(SQLModel, table=True):
    """The newest email and name billing announced for a tenant (AccountUpdated), for its Stripe customer."""

    __tablename__ = "stripe_customer_profiles"
    tenant_id: str = Field(primary_key=True, max_length=64)
    email: str = Field(default="", sa_type=sa.Text)
    name: str = Field(default="", sa_type=sa.Text)
    updated_at: datetime = Field(sa_type=TIMESTAMPTZ)


class Topup(SQLModel, table=True):
    """One payment attempt for money: a Checkout top-up or an auto top-up charge (`trigger_id`)."""

    __tablename__ = "topups"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_topups_tenant_key"),)
    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64, index=True)
    source: str = Field(default="checkout", max_length=16)
    idempotency_key: str | None = Field(default=None, max_length=255)
    trigger_id: str | None = Field(default=None, max_length=255, unique=True)
    amount_cents: int = Field(sa_type=sa.BigInteger)
    bonus_cents: int = Field(default=0, sa_type=sa.BigInteger)
    status: str = Field(default="pending", max_length=16)
    checkout_session_id: str | None = Field(default=None, max_length=255, index=True)
    checkout_url: str | None = Field(default=None, sa_type=sa.Text)
    payment_method_id: str | None = Field(default=None, max_length=255)
    payment_intent_id: str | None = Field(default=None, max_length=255, index=True)
    charge_id: str | None = Field(default=None, max_length=255)
    failure_code: str | None = Field(default=None, max_length=100)
    failure_reason: str | None = Field(default=None, sa_type=sa.Text)
    refunded_cents: int = Field(default=0, sa_type=sa.BigInteger)
    invoice_id: str | None = Field(default=None, max_length=64)  # DocumentIssued (kind invoice)
    card_last4: str | None = Field(default=None, max_length=4)  # the card it was paid with, for the invoice
    card_brand: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)
    updated_at: datetime = Field(sa_type=TIMESTAMPTZ)


class PaymentMethod(SQLModel, table=True):
    __tablename__ = "payment_methods"
    id: str = Field(primary_key=True, max_length=255)
    tenant_id: str = Field(max_length=64, index=True)
    brand: str = Field(default="unknown", max_length=32)
    last4: str = Field(default="", max_length=4)
    exp_month: int = 0
    exp_year: int = 0
    is_default: bool = False
    attached_at: datetime = Field(sa_type=TIMESTAMPTZ)


class Refund(SQLModel, table=True):
    __tablename__ = "refunds"
    id: str = Field(primary_key=True, max_length=255)
    topup_id: str = Field(max_length=40, index=True)
    amount_cents: int = Field(sa_type=sa.BigInteger)
    refunded_at: datetime = Field(sa_type=TIMESTAMPTZ)
    request_id: str | None = Field(default=None, max_length=40)  # the RefundRequest it answers, if any


class RefundRequest(SQLModel, table=True):
    """A refund the operator asked for (POST /admin/v1/topups/{id}/refunds). Its id is derived from the
    idempotency key, so a retry after a lost answer finds it (or the refund it became) again. While
    `pending` its amount is held against the top-up's refundable rest; the Refund row is what counts."""

    __tablename__ = "refund_requests"
    id: str = Field(primary_key=True, max_length=40)
    idempotency_key: str = Field(max_length=255)
    topup_id: str = Field(max_length=40, index=True)
    tenant_id: str = Field(max_length=64)
    amount_cents: int = Field(sa_type=sa.BigInteger)
    reason: str = Field(sa_type=sa.Text)
    requested_by: str = Field(max_length=64)
    status: str = Field(default="pending", max_length=16)  # pending, succeeded, failed
    stripe_refund_id: str | None = Field(default=None, max_length=255, unique=True)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)
    updated_at: datetime = Field(sa_type=TIMESTAMPTZ)


class StripeEvent(SQLModel, table=True):
    """A verified webhook, stored before it is acknowledged; processed exactly once afterwards."""

    __tablename__ = "stripe_events"
    id: str = Field(primary_key=True, max_length=255)
    type: str = Field(max_length=100)
    payload: str = Field(sa_type=sa.Text)
    received_at: datetime = Field(sa_type=TIMESTAMPTZ)
    next_attempt_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ, index=True)
    processed_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=sa.Text)


class ReconciliationRun(SQLModel, table=True):
    """One finished reconciler run and its report (GET /admin/v1/reconciliation answers the last)."""

    __tablename__ = "reconciliation_runs"
    id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=True))
    started_at: datetime = Field(sa_type=TIMESTAMPTZ)
    finished_at: datetime = Field(sa_type=TIMESTAMPTZ)
    report: dict = Field(sa_column=sa.Column(JSONB, nullable=False))
