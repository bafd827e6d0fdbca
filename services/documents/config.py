"""Settings of the documents service (API.md: DOCUMENTS_STORE, SELLER_*, TIMEZONE)."""

from typing import ClassVar, Literal

from pydantic import Field, SecretStr

from runtime.settings import ServiceSettings, database_field, nats_password_field, nats_user_field


class DocumentsSettings(ServiceSettings):
    service_name: ClassVar[str] = "documents"
    default_port: ClassVar[int] = 8003

    database_url: str | None = database_field("documents")
    nats_user: str | None = nats_user_field("documents")
    nats_password: SecretStr | None = nats_password_field("documents")
    documents_store: str = "var/documents"  # a directory, or s3://bucket/prefix
    aws_endpoint_url: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_region: str = "eu-central-1"

    seller_name: str = "Sprachwerk Telefonassistenz GmbH"
    seller_street: str = "Friedrichstraße 123"
    seller_postal_code: str = "10117"
    seller_city: str = "Berlin"
    seller_country: str = "DE"
    seller_vat_id: str | None = "DE123456789"
    seller_tax_number: str | None = "37/123/45678"
    seller_iban: str | None = "DE89370400440532013000"
    seller_email: str | None = "rechnung@sprachwerk.example"
    seller_phone: str | None = "+49 30 12345678"
    seller_contact: str | None = "Buchhaltung"  # a person or department, the seller's contact (XRechnung BG-6)

    # DATEV export (services/documents/datev.py, docs/operations.md): the tax adviser's numbers and chart
    datev_consultant_number: int = Field(default=1001, ge=1000, le=9999999)
    datev_client_number: int = Field(default=1, ge=1, le=99999)
    datev_chart: Literal["SKR03", "SKR04"] = "SKR03"
    datev_account_length: int = Field(default=4, ge=4, le=8)
    datev_debtor_range: str = Field(default="10000-69999", pattern=r"^\d{5,9}-\d{5,9}$")
    datev_revenue_account: str | None = Field(default=None, pattern=r"^\d{4,8}$")  # None: the chart's
    datev_reverse_charge_account: str | None = Field(default=None, pattern=r"^\d{4,8}$")
    datev_tax_key: str = Field(default="3", pattern=r"^\d{0,4}$")
    datev_reverse_charge_tax_key: str = Field(default="", pattern=r"^\d{0,4}$")
    datev_fiscal_year_start_month: int = Field(default=1, ge=1, le=12)

    # Statements: the monthly job looks for a finished month this often; pending statements
    # (e.g. left by a crash) are completed by a sweep once they are older than the grace period.
    statement_job_s: float = Field(default=600, gt=0)
    pending_sweep_s: float = Field(default=15, gt=0)
    pending_grace_s: float = Field(default=10, ge=0)
    billing_timeout_s: float = Field(default=5, gt=0)
    # 0: render in a thread of the service process; N: a pool of N warmed-up worker processes
    # renders each batch in parallel (throughput of one number series scales with cores).
    documents_render_processes: int = Field(default=0, ge=0, le=64)
