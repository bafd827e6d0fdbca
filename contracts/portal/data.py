"""The `data` of each customer-visible event type (API.md "Server-Sent Events"), one model per type.

`contracts.portal.catalog` names the model of every type. `PortalEvent(...)` validates its data against
it when a producer builds the event, refusing undocumented fields; reading an event from the wire
(`model_validate_json`) does not, so a field added later (an optional one keeps the version) never
breaks an older reader. The AsyncAPI document shows these models.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from contracts.billing.v1 import EntryKind
from contracts.documents.v1 import DocumentKind


class EventData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BalanceUpdatedData(EventData):
    """The balance after the last posting of a batch (one per tenant and batch)."""

    balance_cents: int
    available_cents: int | None = None
    transaction_id: str | None = None


class TransactionCreatedData(EventData):
    """One ledger transaction, as `GET /v1/transactions` lists it."""

    id: str
    kind: EntryKind
    amount_cents: int
    balance_after_cents: int
    description: str
    reference: str | None = None
    created_at: datetime


class AlertData(EventData):
    """`balance.low` / `balance.depleted`: the balance after the debit that crossed, and the threshold."""

    balance_cents: int
    threshold_cents: int


class TopupSucceededData(EventData):
    topup_id: str
    amount_cents: int
    bonus_cents: int
    source: Literal["checkout", "auto"] = "checkout"  # "auto": an auto top-up's charge


class TopupFailedData(EventData):
    topup_id: str
    amount_cents: int
    reason: str | None = None


class AutoTopupTriggeredData(EventData):
    trigger_id: str
    amount_cents: int
    balance_cents: int
    threshold_cents: int


class AutoTopupSucceededData(EventData):
    trigger_id: str
    topup_id: str
    amount_cents: int


class AutoTopupFailedData(EventData):
    """`reason`: the payment provider's code (`card_declined` …), or `monthly_limit` when the charge was
    not made because it would exceed the monthly limit (then the `*_cents` fields and `month` say why)."""

    reason: str
    trigger_id: str | None = None
    consecutive_failures: int | None = None
    message: str | None = None  # the payment provider's words
    amount_cents: int | None = None
    monthly_limit_cents: int | None = None
    spent_this_month_cents: int | None = None
    month: str | None = None  # YYYY-MM


class AutoTopupPausedData(EventData):
    trigger_id: str
    action_url: str | None = None  # where the customer authenticates the charge


class AutoTopupDisabledData(EventData):
    reason: str
    reason_code: str | None = None


class DocumentIssuedData(EventData):
    id: str
    kind: DocumentKind
    number: str


class WebhookEndpointDisabledData(EventData):
    id: str
    url: str
    reason: str


class CreditsExpiringData(EventData):
    """Sent once, `GRANT_EXPIRY_NOTICE_DAYS` before a grant expires: what it has left then."""

    grant_id: str
    amount_cents: int
    expires_at: datetime


class CreditsExpiredData(EventData):
    """What a grant had left when it expired (its `expiry` transaction)."""

    grant_id: str
    amount_cents: int
