"""Request and response bodies of the HTTP API (API.md), for validation and the OpenAPI document."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from contracts.billing.v1 import (
    ADJUSTMENT_MAX_CENTS,
    ADJUSTMENT_REASON_MAX,
    GRANT_DEFAULT_PRIORITY,
    GRANT_MAX_CENTS,
    GRANT_REASON_MAX,
    EntryKind,
)

# Deliberately lenient: reserved test domains (.test, .example) are valid addresses for our users.
_ATOM = r"[^@\s\x00-\x1f\x7f-\x9f]+"
EmailStr = Annotated[str, Field(pattern=rf"^{_ATOM}@{_ATOM}\.{_ATOM}$", max_length=320)]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _has_control(value: Any) -> bool:
    if isinstance(value, str):
        return _CONTROL.search(value) is not None
    if isinstance(value, dict):
        return any(_has_control(k) or _has_control(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_control(v) for v in value)
    return False


class NoControlCharacters(BaseModel):
    """Text never carries control characters (NUL cannot even be stored by PostgreSQL): refused here,
    at the edge, with a 422 naming the field, instead of failing in a service behind the gateway.
    Mixed into contract models that serve as request bodies as they are (the reservations)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        if _has_control(value):
            raise ValueError("control characters are not allowed")
        return value


class Strict(NoControlCharacters):
    """Request bodies: unknown fields and coercions ("10" for 10, 10.0, true for 1) are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class AddressIn(Strict):
    line1: str = Field(min_length=1, max_length=200)
    postal_code: str = Field(min_length=1, max_length=20)
    city: str = Field(min_length=1, max_length=100)


class AddressPatch(Strict):
    line1: str | None = Field(default=None, min_length=1, max_length=200)
    postal_code: str | None = Field(default=None, min_length=1, max_length=20)
    city: str | None = Field(default=None, min_length=1, max_length=100)


class TenantIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    country: str = Field(pattern=r"^[A-Za-z]{2}$")
    vat_id: str | None = Field(default=None, max_length=20)
    phone: str | None = Field(default=None, max_length=20, pattern=r"^\+?[0-9 ()-]{4,20}$")
    address: AddressIn
    locale: Literal["de", "en"] = "de"

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "name": "Muster GmbH",
                    "email": "billing@muster.example",
                    "country": "DE",
                    "vat_id": "DE123456789",
                    "address": {"line1": "Hauptstraße 1", "postal_code": "10115", "city": "Berlin"},
                }
            ]
        },
    )


class TenantCreated(BaseModel):
    id: str
    api_key: str


class ApiKeyCreated(BaseModel):
    api_key: str
    prefix: str


class ApiKeyItem(BaseModel):
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


class ApiKeyList(BaseModel):
    items: list[ApiKeyItem]


class UserIn(Strict):
    email: EmailStr
    password: str = Field(min_length=8, max_length=200)


class UserCreated(BaseModel):
    id: str
    email: str


class AccountPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=20, pattern=r"^\+?[0-9 ()-]{4,20}$")
    address: AddressPatch | None = None
    vat_id: str | None = Field(default=None, max_length=20)
    locale: Literal["de", "en"] | None = None
    low_balance_threshold_cents: int | None = Field(default=None, ge=0, le=100_000_000)
    einvoice_profile: Literal["en16931", "xrechnung"] | None = Field(
        default=None, description="`xrechnung` (XRechnung 3.0, for German public buyers) needs `buyer_reference`"
    )
    buyer_reference: str | None = Field(
        default=None, max_length=100, description="the public buyer's Leitweg-ID (BT-10), e.g. 04011000-1234512345-06"
    )


class Account(BaseModel):
    id: str
    name: str
    email: str
    country: str
    vat_id: str | None
    phone: str | None
    address: dict
    locale: str
    low_balance_threshold_cents: int
    einvoice_profile: Literal["en16931", "xrechnung"] = "en16931"
    buyer_reference: str | None = None


class NextExpiry(BaseModel):
    amount_cents: int
    expires_at: datetime


class Balance(BaseModel):
    balance_cents: int = Field(description="paid_cents + promotional_cents")
    available_cents: int
    currency: str = "EUR"
    low_balance_threshold_cents: int
    updated_at: datetime | None
    paid_cents: int
    promotional_cents: int = Field(description="what the open promotional grants have left (used first)")
    next_expiry: NextExpiry | None


class Transaction(BaseModel):
    id: str
    kind: EntryKind
    amount_cents: int
    balance_after_cents: int
    description: str
    reference: str | None
    created_at: datetime


class TransactionList(BaseModel):
    items: list[Transaction]
    next_cursor: str | None


class UsageDay(BaseModel):
    date: str
    amount_cents: int
    quantity: float


class Dashboard(BaseModel):
    balance_cents: int
    available_cents: int
    usage_by_day: list[UsageDay]
    topups_30d_cents: int
    usage_30d_cents: int
    projected_days_left: int | None
    paid_cents: int
    promotional_cents: int
    next_expiry: NextExpiry | None


class AdjustmentIn(Strict):
    amount_cents: int = Field(
        ge=-ADJUSTMENT_MAX_CENTS,
        le=ADJUSTMENT_MAX_CENTS,
        description="signed, not 0: a credit is positive, a debit negative (400 `validation_error` for 0)",
        json_schema_extra={"examples": [-1500]},
    )
    reason: str = Field(
        description=f"shown to the customer as the transaction's description; required, at most "
        f"{ADJUSTMENT_REASON_MAX} characters (400 `validation_error` otherwise)",
        json_schema_extra={"examples": ["Gutschrift für den Ausfall am 3. Dezember"]},
    )


class Adjustment(BaseModel):
    id: str
    transaction_id: str
    amount_cents: int
    reason: str
    created_at: datetime


class GrantIn(Strict):
    amount_cents: int = Field(gt=0, le=GRANT_MAX_CENTS, json_schema_extra={"examples": [5000]})
    reason: str = Field(
        description=f"shown to the customer as the transaction's description; required, at most "
        f"{GRANT_REASON_MAX} characters (400 `validation_error` otherwise)",
        json_schema_extra={"examples": ["Startguthaben für den Test"]},
    )
    expires_at: AwareDatetime | None = Field(
        default=None,
        strict=False,  # an ISO 8601 string with its offset, as JSON carries it
        description="in the future; what is left then leaves as an `expiry` transaction",
    )
    priority: int = Field(
        default=GRANT_DEFAULT_PRIORITY, ge=0, le=2**31 - 1, description="usage draws the lowest number first"
    )


class Grant(BaseModel):
    id: str
    amount_cents: int
    remaining_cents: int
    expires_at: datetime | None
    priority: int
    reason: str
    created_at: datetime


class GrantList(BaseModel):
    items: list[Grant]


class TopupIn(Strict):
    amount_cents: int = Field(ge=1, le=10**9, json_schema_extra={"examples": [10000]})


class RefundIn(Strict):
    amount_cents: int = Field(le=10**9, json_schema_extra={"examples": [2500]})  # ≤ 0: 400 from payments
    reason: str = Field(min_length=1, max_length=500, json_schema_extra={"examples": ["duplicate payment"]})


class Refund(BaseModel):
    id: str
    status: Literal["pending", "succeeded", "failed"]


class Topup(BaseModel):
    id: str
    status: Literal["pending", "succeeded", "failed", "expired", "refunded"]
    amount_cents: int
    bonus_cents: int
    checkout_url: str | None = None
    invoice_id: str | None = None
    failure_reason: str | None = None


class PaymentMethod(BaseModel):
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool


class PaymentMethodList(BaseModel):
    items: list[PaymentMethod]


class PaymentMethodIn(Strict):
    # A Stripe.js PaymentMethod id (`pm_…`): anything else never reaches the payment provider.
    payment_method_id: str = Field(
        min_length=3,
        max_length=255,
        pattern=r"^[A-Za-z0-9_]+$",
        json_schema_extra={"examples": ["pm_1Pq2Rs3Tu4Vw5Xy6"]},
    )
    make_default: bool = False


class SetupIntent(BaseModel):
    setup_intent_id: str
    client_secret: str


class AutoTopupIn(Strict):
    enabled: bool
    threshold_cents: int = Field(ge=0, le=100_000_000)
    amount_cents: int = Field(ge=1, le=10**9)
    monthly_limit_cents: int = Field(ge=0, le=10**10)


class AutoTopup(BaseModel):
    enabled: bool
    threshold_cents: int
    amount_cents: int
    monthly_limit_cents: int
    state: Literal["idle", "in_flight", "paused", "disabled"]
    consecutive_failures: int
    disabled_reason: str | None = None
    last_triggered_at: datetime | None = None
    action_url: str | None = None


class TenantListItem(BaseModel):
    """A tenant in the operator's list; `projected_days_left` is the number GET /v1/dashboard answers."""

    id: str
    name: str
    email: str
    balance_cents: int
    available_cents: int
    projected_days_left: int | None
    autotopup_state: Literal["idle", "in_flight", "paused", "disabled"]


class TenantList(BaseModel):
    items: list[TenantListItem]
    next_cursor: str | None = None


class OperatorAutoTopup(AutoTopup):
    """GET /v1/auto-topup's answer plus the reason code of the last failed charge."""

    last_failure_reason: str | None = None


class LastTopup(BaseModel):
    id: str
    status: Literal["pending", "succeeded", "failed", "expired", "refunded"]
    amount_cents: int
    bonus_cents: int
    invoice_id: str | None = None
    failure_reason: str | None = None
    created_at: datetime


class TenantDetail(TenantListItem):
    """`paid_cents` + `promotional_cents` = `balance_cents`; `last_topup` is null before the first one."""

    paid_cents: int
    promotional_cents: int
    autotopup: OperatorAutoTopup
    last_topup: LastTopup | None = None


class Document(BaseModel):
    id: str
    kind: Literal["invoice", "credit_note", "statement"]
    number: str | None
    issued_at: datetime | None
    total_cents: int


class DocumentList(BaseModel):
    items: list[Document]


class StatementIn(Strict):
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", json_schema_extra={"examples": ["2026-10"]})


class Accepted(BaseModel):
    id: str


class WebhookEndpointIn(Strict):
    url: str = Field(min_length=8, max_length=2000)
    events: list[str] = Field(min_length=1, max_length=50)


class WebhookEndpoint(BaseModel):
    id: str
    url: str
    events: list[str]
    status: Literal["enabled", "disabled"] = "enabled"
    disabled_reason: str | None = None
    secret: str | None = None


class WebhookEndpointList(BaseModel):
    items: list[WebhookEndpoint]


class Delivery(BaseModel):
    id: str
    webhook_id: str
    event_type: str
    attempt: int
    status_code: int | None = None
    error: str | None = None
    duration_ms: int
    attempted_at: datetime


class DeliveryList(BaseModel):
    items: list[Delivery]


class PushKeys(Strict):
    p256dh: str = Field(min_length=1, max_length=200)
    auth: str = Field(min_length=1, max_length=100)


class PushSubscriptionIn(Strict):
    endpoint: str = Field(min_length=8, max_length=2000)
    keys: PushKeys
