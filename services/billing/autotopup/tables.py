"""Auto top-up persistence: one settings row per tenant, one row per requested charge."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from runtime.tables import TIMESTAMPTZ


class AutoTopupSetting(SQLModel, table=True):
    __tablename__ = "autotopup_settings"
    tenant_id: str = Field(primary_key=True, max_length=64)
    enabled: bool = False
    threshold_cents: int = Field(sa_type=sa.BigInteger)
    amount_cents: int = Field(sa_type=sa.BigInteger)
    monthly_limit_cents: int = Field(sa_type=sa.BigInteger)
    state: str = Field(default="disabled", max_length=16)
    consecutive_failures: int = 0
    disabled_reason: str | None = None
    action_url: str | None = None
    current_trigger_id: str | None = Field(default=None, max_length=64)
    last_triggered_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    next_retry_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    monthly_limit_notified_month: str | None = Field(default=None, max_length=7)
    default_payment_method_id: str | None = Field(default=None, max_length=255)
    updated_at: datetime = Field(sa_type=TIMESTAMPTZ)


class AutoTopupCharge(SQLModel, table=True):
    """status: requested → succeeded | failed | paused (→ succeeded | superseded | expired)."""

    __tablename__ = "autotopup_charges"
    __table_args__ = (sa.Index("ix_autotopup_charges_tenant_month", "tenant_id", "month"),)
    trigger_id: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(max_length=64)
    amount_cents: int = Field(sa_type=sa.BigInteger)
    month: str = Field(max_length=7)
    status: str = Field(default="requested", max_length=16)
    topup_id: str | None = Field(default=None, max_length=64)
    failure_code: str | None = None
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)
    updated_at: datetime = Field(sa_type=TIMESTAMPTZ)
    checked_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)  # last AutoTopupCheckRequested
