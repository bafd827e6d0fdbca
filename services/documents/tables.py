"""Documents' persistence: issued documents, number counters, local copies of billing profiles."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from runtime.tables import TIMESTAMPTZ, table_of


class Document(SQLModel, table=True):
    """One invoice, credit note or statement. `source_key` makes issuing idempotent per source:
    the top-up id, the refund id, or `<tenant>:<YYYY-MM>` (`…@<date>` for a statement to date)."""

    __tablename__ = "documents"
    __table_args__ = (
        sa.UniqueConstraint("kind", "source_key", name="uq_documents_source"),
        sa.Index("ix_documents_tenant_created", "tenant_id", "created_at"),
        sa.Index("ix_documents_topup", "kind", "topup_id"),
    )
    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    source_key: str = Field(max_length=200)
    status: str = Field(default="pending", max_length=16)
    number: str | None = Field(default=None, max_length=32, unique=True)
    issue_date: date | None = None
    issued_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    total_cents: int = Field(default=0, sa_type=sa.BigInteger)
    topup_id: str | None = Field(default=None, max_length=64)
    month: str | None = Field(default=None, max_length=7)
    pdf_key: str | None = None
    xml_key: str | None = None
    csv_key: str | None = None  # a statement's entries as CSV (runtime.csv_format)
    card_last4: str | None = Field(default=None, max_length=4)  # an invoice's card: its credit notes name it too
    tax_category: str | None = Field(default=None, max_length=4)  # S or AE (reverse charge), for the DATEV export
    buyer_vat_id: str | None = Field(default=None, max_length=20)  # as printed on it
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)


class NumberCounter(SQLModel, table=True):
    """The last number issued in a series (RE, KR, KA) and year; locked while a number is taken."""

    __tablename__ = "number_counters"
    series: str = Field(primary_key=True, max_length=8)
    year: int = Field(primary_key=True)
    last_number: int = 0


class TenantProfile(SQLModel, table=True):
    """The latest billing profile billing announced (AccountUpdated) or answered (GetAccount)."""

    __tablename__ = "tenant_profiles"
    tenant_id: str = Field(primary_key=True, max_length=64)
    profile: dict = Field(sa_type=sa.JSON)
    as_of: datetime = Field(sa_type=TIMESTAMPTZ)


documents = table_of(Document)
counters = table_of(NumberCounter)
profiles = table_of(TenantProfile)


class DatevDebtor(SQLModel, table=True):
    """The debtor account a tenant got in the DATEV export: assigned once, never reused."""

    __tablename__ = "datev_debtors"
    tenant_id: str = Field(primary_key=True, max_length=64)
    number: int = Field(sa_column=sa.Column(sa.Integer, nullable=False, unique=True))
    assigned_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
