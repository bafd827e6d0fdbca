"""The catalogue of customer-visible event types: the one list everything else derives from.

For each type (API.md "Server-Sent Events"): the model of its `data`, the service that publishes it
(its NATS permission), whether a customer can have it sent by email, SMS or push (`notifiable`),
whether it is critical (money is at stake: the portal recommends keeping a channel, and a
customer who switches it off still sees it on the dashboard), its default channels
(API.md's defaults of `PUT /v1/notification-preferences`), the urgency of its web push, and whether
the portal's dashboard shows it as an alert. Notify's defaults and validation, the portal's
preferences page and dashboard, the NATS permissions and the AsyncAPI document read it from here.

Adding a customer-visible event type: one literal in `EventType`, one entry in `CATALOG` (its data
model in `contracts/portal/data.py`), its texts where it is sent (docs/runtime-primer.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from contracts.notify.v1 import Channel
from contracts.portal.data import (
    AlertData,
    AutoTopupDisabledData,
    AutoTopupFailedData,
    AutoTopupPausedData,
    AutoTopupSucceededData,
    AutoTopupTriggeredData,
    BalanceUpdatedData,
    CreditsExpiredData,
    CreditsExpiringData,
    DocumentIssuedData,
    EventData,
    TopupFailedData,
    TopupSucceededData,
    TransactionCreatedData,
    WebhookEndpointDisabledData,
)

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
    "credits.expiring",
    "credits.expired",
]
PushUrgency = Literal["very-low", "low", "normal", "high"]


@dataclass(frozen=True)
class EventSpec:
    data: type[EventData]
    producer: str  # the service whose NATS user may publish `portal.<type>.v1`
    channels: tuple[Channel, ...] = ()  # the default channels; () = off until the customer chooses
    notifiable: bool = True  # False: sent for every transaction, so live (SSE) and webhooks only
    critical: bool = False  # marked as recommended in the portal; `[]` still switches it off (API.md)
    push_urgency: PushUrgency | None = None
    dashboard_alert: bool = False  # shown on the portal's dashboard when it arrives


CATALOG: dict[EventType, EventSpec] = {
    "balance.updated": EventSpec(BalanceUpdatedData, "billing", notifiable=False),
    "transaction.created": EventSpec(TransactionCreatedData, "billing", notifiable=False),
    "topup.succeeded": EventSpec(TopupSucceededData, "billing", ("push",)),
    "topup.failed": EventSpec(TopupFailedData, "payments", ("email", "push"), critical=True, push_urgency="high"),
    "balance.low": EventSpec(AlertData, "billing", ("email", "push"), dashboard_alert=True),
    "balance.depleted": EventSpec(
        AlertData, "billing", ("email", "sms", "push"), critical=True, push_urgency="high", dashboard_alert=True
    ),
    "autotopup.triggered": EventSpec(AutoTopupTriggeredData, "billing"),
    "autotopup.succeeded": EventSpec(AutoTopupSucceededData, "billing"),
    "autotopup.failed": EventSpec(AutoTopupFailedData, "billing", ("email",), dashboard_alert=True),
    "autotopup.paused": EventSpec(AutoTopupPausedData, "billing", ("email", "sms"), dashboard_alert=True),
    "autotopup.disabled": EventSpec(
        AutoTopupDisabledData, "billing", ("email", "sms"), critical=True, dashboard_alert=True
    ),
    "document.issued": EventSpec(DocumentIssuedData, "documents", ("email",)),
    "webhook_endpoint.disabled": EventSpec(WebhookEndpointDisabledData, "notify", ("email",)),
    "credits.expiring": EventSpec(CreditsExpiringData, "billing", ("email",)),
    "credits.expired": EventSpec(CreditsExpiredData, "billing", ("email",)),
}

EVENT_TYPES: tuple[EventType, ...] = tuple(CATALOG)
NOTIFIABLE: tuple[EventType, ...] = tuple(t for t, spec in CATALOG.items() if spec.notifiable)
CRITICAL: frozenset[EventType] = frozenset(t for t, spec in CATALOG.items() if spec.critical)
DASHBOARD_ALERTS: tuple[EventType, ...] = tuple(t for t, spec in CATALOG.items() if spec.dashboard_alert)


def default_channels() -> dict[EventType, tuple[Channel, ...]]:
    """Every event type with its default channels (API.md), the not notifiable ones with none."""
    return {t: spec.channels for t, spec in CATALOG.items()}


def producers() -> dict[EventType, str]:
    return {t: spec.producer for t, spec in CATALOG.items()}
