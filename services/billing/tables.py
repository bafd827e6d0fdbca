"""Billing's persistence (not its domain): accounts, ledger transactions and entries, top-ups, holds."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from runtime.tables import TIMESTAMPTZ

BigId = sa.BigInteger()


class Account(SQLModel, table=True):
    __tablename__ = "accounts"
    __table_args__ = (sa.Index("ix_accounts_created_tenant", "created_at", "tenant_id"),)  # the operator's list
    tenant_id: str = Field(primary_key=True, max_length=64)
    name: str = ""
    email: str = ""
    country: str = "DE"
    vat_id: str | None = None
    phone: str | None = None
    address_line1: str = ""
    postal_code: str = ""
    city: str = ""
    locale: str = "de"
    low_balance_threshold_cents: int = 1000
    balance_cents: int = Field(default=0, sa_type=sa.BigInteger)
    einvoice_profile: str = Field(default="en16931", max_length=16)
    buyer_reference: str | None = Field(default=None, max_length=100)
    updated_at: datetime = Field(sa_type=TIMESTAMPTZ)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)


class LedgerTransaction(SQLModel, table=True):
    __tablename__ = "ledger_transactions"
    __table_args__ = (sa.Index("ix_ledger_tx_tenant_seq", "tenant_id", "seq"),)
    seq: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    id: str = Field(max_length=40, unique=True)
    tenant_id: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    amount_cents: int = Field(sa_type=sa.BigInteger)
    balance_after_cents: int = Field(sa_type=sa.BigInteger)
    description: str = ""
    reference: str | None = None
    source_key: str = Field(max_length=250, unique=True)
    quantity: float | None = None
    occurred_at: datetime = Field(sa_type=TIMESTAMPTZ)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger_entries"
    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    transaction_id: str = Field(max_length=40, index=True)
    account: str = Field(max_length=100, index=True)
    amount_cents: int = Field(sa_type=sa.BigInteger)


class TopupCredit(SQLModel, table=True):
    __tablename__ = "topup_credits"
    topup_id: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(max_length=64, index=True)
    amount_cents: int = Field(sa_type=sa.BigInteger)
    bonus_cents: int = Field(sa_type=sa.BigInteger)
    refunded_cents: int = Field(default=0, sa_type=sa.BigInteger)
    bonus_reversed_cents: int = Field(default=0, sa_type=sa.BigInteger)
    source: str = "checkout"
    credited_at: datetime = Field(sa_type=TIMESTAMPTZ)


class Hold(SQLModel, table=True):
    __tablename__ = "holds"
    __table_args__ = (sa.Index("ix_holds_tenant_status", "tenant_id", "status"),)
    id: str = Field(primary_key=True, max_length=64)
    request_id: str = Field(max_length=200, unique=True)
    tenant_id: str = Field(max_length=64)
    amount_cents: int = Field(sa_type=sa.BigInteger)
    status: str = Field(default="active", max_length=16)
    expires_at: datetime = Field(sa_type=TIMESTAMPTZ)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)
    settled_transaction_id: str | None = None


class Adjustment(SQLModel, table=True):
    """An operator's signed correction, once per (tenant, idempotency key); its posting is `transaction_id`."""

    __tablename__ = "adjustments"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_adjustments_tenant_key"),)
    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64)
    idempotency_key: str = Field(max_length=255)
    amount_cents: int = Field(sa_type=sa.BigInteger)
    reason: str = Field(max_length=500)
    transaction_id: str = Field(max_length=40)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)


class Grant(SQLModel, table=True):
    """Promotional credit, once per (tenant, idempotency key); `transaction_id` is its `grant` posting.

    `remaining_cents` changes only with the tenant's account row locked (debits, expiry, void)."""

    __tablename__ = "grants"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_grants_tenant_key"),)
    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64)
    idempotency_key: str = Field(max_length=255)
    amount_cents: int = Field(sa_type=sa.BigInteger)
    remaining_cents: int = Field(sa_type=sa.BigInteger)
    priority: int = 100
    expires_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    reason: str = Field(max_length=500)
    status: str = Field(default="open", max_length=16)  # open | expired | voided
    transaction_id: str = Field(max_length=40)
    notice_sent_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    closed_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)


class GrantAllocation(SQLModel, table=True):
    """What one usage posting drew from one grant."""

    __tablename__ = "grant_allocations"
    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    transaction_id: str = Field(max_length=40)
    grant_id: str = Field(max_length=40, index=True)
    amount_cents: int = Field(sa_type=sa.BigInteger)
