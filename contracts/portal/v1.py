"""Customer-visible events (API.md "Server-Sent Events"), published as `portal.<type>.v1`.

The envelope is fixed by API.md: `{id, type, tenant_id, occurred_at, data}`. The gateway streams
them over SSE, notify turns them into emails, SMS, pushes and webhooks.
"""

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from contracts.base import Message, new_id, utcnow
from contracts.subjects import PORTAL, portal_subject

EventType = Literal[
    "balance.updated",
    "transaction.created",
    "topup.succeeded",
    "topup.failed",
    "balance.low",
    "balance.depleted",
    "autotopup.triggered",
    "autotopup.succeeded",
    "autotopup.failed",
    "autotopup.paused",
    "autotopup.disabled",
    "document.issued",
    "webhook_endpoint.disabled",
]
EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]

# Which service publishes each type: its NATS user may publish `portal.<type>.v1` and no other.
# A new customer-visible event is one entry here (tests/unit/runtime/test_nats_permissions.py
# fails for a type without one).
PRODUCERS: dict[str, str] = {
    "balance.updated": "billing",
    "transaction.created": "billing",
    "topup.succeeded": "billing",
    "topup.failed": "payments",
    "balance.low": "billing",
    "balance.depleted": "billing",
    "autotopup.triggered": "billing",
    "autotopup.succeeded": "billing",
    "autotopup.failed": "billing",
    "autotopup.paused": "billing",
    "autotopup.disabled": "billing",
    "document.issued": "documents",
    "webhook_endpoint.disabled": "notify",
}


class PortalEvent(Message):
    subject: ClassVar[str] = "portal.*.v1"
    stream: ClassVar[str | None] = PORTAL.name
    durables: ClassVar = ("notify-portal",)

    id: str = Field(default_factory=lambda: new_id("evt_"))
    type: EventType
    tenant_id: str
    occurred_at: datetime = Field(default_factory=utcnow)
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def event_id(self) -> str:
        return self.id

    def subject_for(self) -> str:
        return portal_subject(self.type)


# Shapes of `data` per type, for documentation (AsyncAPI) and for producers to build from.


class BalanceUpdatedData(BaseModel):
    balance_cents: int
    available_cents: int | None = None
    transaction_id: str | None = None


class AlertData(BaseModel):
    balance_cents: int
    threshold_cents: int


class TopupResultData(BaseModel):
    topup_id: str
    amount_cents: int
    bonus_cents: int = 0
    reason: str | None = None


class AutoTopupData(BaseModel):
    trigger_id: str | None = None
    amount_cents: int | None = None
    reason: str | None = None
    action_url: str | None = None


class DocumentIssuedData(BaseModel):
    id: str
    kind: Literal["invoice", "credit_note", "statement"]
    number: str


class WebhookEndpointDisabledData(BaseModel):
    id: str
    url: str
    reason: str


DATA_MODELS: dict[str, type[BaseModel]] = {
    "balance.updated": BalanceUpdatedData,
    "balance.low": AlertData,
    "balance.depleted": AlertData,
    "topup.succeeded": TopupResultData,
    "topup.failed": TopupResultData,
    "autotopup.triggered": AutoTopupData,
    "autotopup.succeeded": AutoTopupData,
    "autotopup.failed": AutoTopupData,
    "autotopup.paused": AutoTopupData,
    "autotopup.disabled": AutoTopupData,
    "document.issued": DocumentIssuedData,
    "webhook_endpoint.disabled": WebhookEndpointDisabledData,
}
