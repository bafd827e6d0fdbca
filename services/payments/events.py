"""The events payments publishes, built from a top-up row. Ids are derived from what they report, so
a fact published twice (a bug, a crash between relay and delete) is dropped by JetStream's de-dup."""

from __future__ import annotations

from datetime import datetime

from contracts.payments.v1 import PaymentMethodChanged, PaymentRefunded, TopupExpired, TopupFailed, TopupPaid
from contracts.portal.v1 import PortalEvent
from services.payments.tables import Topup


def topup_paid(topup: Topup, *, paid_at: datetime, correlation_id: str | None) -> TopupPaid:
    return TopupPaid(
        event_id=f"evt_paid_{topup.id}",
        tenant_id=topup.tenant_id,
        topup_id=topup.id,
        amount_cents=topup.amount_cents,
        bonus_cents=topup.bonus_cents,
        source=topup.source,
        trigger_id=topup.trigger_id,
        payment_intent_id=topup.payment_intent_id or "",
        charge_id=topup.charge_id,
        paid_at=paid_at,
        card_last4=topup.card_last4,
        card_brand=topup.card_brand,
        correlation_id=correlation_id,
    )


def topup_failed(topup: Topup, *, action_url: str | None, correlation_id: str | None) -> list:
    """TopupFailed for billing; for a Checkout top-up also the customer's `topup.failed`."""
    failed = TopupFailed(
        event_id=f"evt_failed_{topup.id}",
        tenant_id=topup.tenant_id,
        topup_id=topup.id,
        amount_cents=topup.amount_cents,
        source=topup.source,
        trigger_id=topup.trigger_id,
        reason_code=topup.failure_code or "payment_failed",
        reason=topup.failure_reason or "",
        action_url=action_url,
        correlation_id=correlation_id,
    )
    if topup.source == "auto":
        return [failed]
    portal = PortalEvent(
        id=f"evt_pfailed_{topup.id}",
        type="topup.failed",
        tenant_id=topup.tenant_id,
        data={"topup_id": topup.id, "amount_cents": topup.amount_cents, "reason": topup.failure_reason},
    )
    return [failed, portal]


def topup_expired(topup: Topup, *, correlation_id: str | None) -> TopupExpired:
    return TopupExpired(
        event_id=f"evt_expired_{topup.id}",
        tenant_id=topup.tenant_id,
        topup_id=topup.id,
        source=topup.source,
        trigger_id=topup.trigger_id,
        correlation_id=correlation_id,
    )


def payment_refunded(
    topup: Topup, *, refund_id: str, amount_cents: int, refunded_at: datetime, correlation_id: str | None
) -> PaymentRefunded:
    return PaymentRefunded(
        event_id=f"evt_refund_{refund_id}"[:64],
        tenant_id=topup.tenant_id,
        refund_id=refund_id,
        topup_id=topup.id,
        payment_intent_id=topup.payment_intent_id or "",
        amount_cents=amount_cents,
        topup_amount_cents=topup.amount_cents,
        refunded_at=refunded_at,
        correlation_id=correlation_id,
    )


def card_changed(tenant_id: str, change: str, card_id: str, default_id: str | None) -> PaymentMethodChanged:
    return PaymentMethodChanged(
        tenant_id=tenant_id, change=change, payment_method_id=card_id, default_payment_method_id=default_id
    )
