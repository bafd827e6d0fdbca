"""Refunds the operator asks for (POST /admin/v1/topups/{id}/refunds): created at Stripe, counted once.

The top-up's row is locked from the refundable check until the Stripe refund is recorded, so two
requests never together exceed the payment and one key never makes two refunds (as an auto top-up's
charge holds its attempt's lock while it talks to Stripe). The refund's effect goes the way of every
refund made at Stripe: `settlement.settle_refunds` records it once by Stripe's refund id and sends
PaymentRefunded (ledger entry, bonus reversal, credit note); the `charge.refunded` webhook, arriving
before or after, finds it recorded. Stripe's idempotency key and the request's id are derived from our
idempotency key, so a retry after a lost answer (Stripe made the refund, we never heard) gets the same
Stripe refund back, or finds it already recorded from its webhook, instead of refunding twice.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import utcnow
from contracts.payments.v1 import RefundTopupReply, RefundView
from runtime.db import Database
from runtime.tables import table_of
from services.payments import repository, settlement
from services.payments.checkout_topups import TopupNotFound, stripe_key
from services.payments.domain import refunds as rules
from services.payments.domain.topups import IdempotencyConflict
from services.payments.stripe.client import StripeAdapter
from services.payments.stripe.errors import StripeIdempotencyConflict, StripeInvalidRequest
from services.payments.tables import RefundRequest, Topup


def request_id_for(idempotency_key: str) -> str:
    return "rr_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


def refund_view(request: RefundRequest) -> RefundView:
    return RefundView(id=request.stripe_refund_id or request.id, status=request.status)


async def refund_topup(
    *,
    db: Database,
    adapter: StripeAdapter,
    topup_id: str,
    amount_cents: int,
    reason: str,
    idempotency_key: str,
    requested_by: str,
) -> RefundTopupReply:
    rules.check_positive(amount_cents)
    request_id = request_id_for(idempotency_key)
    async with db.transaction() as session:
        topup = await repository.topup_where(session, Topup.id == topup_id, lock=True)
        if topup is None:
            raise TopupNotFound(f"no top-up {topup_id}")
        created = False
        request = await session.get(RefundRequest, request_id)
        if request is None:
            row = await _new_request(session, topup, request_id, amount_cents, reason, idempotency_key, requested_by)
            created = await repository.insert_new(session, table_of(RefundRequest), row)
            request = await session.get(RefundRequest, request_id, populate_existing=True)
        assert request is not None
        rules.check_same_request(
            stored=(request.topup_id, request.amount_cents, request.reason), requested=(topup_id, amount_cents, reason)
        )
        if request.stripe_refund_id is None:
            await _refund_at_stripe(session, adapter, topup, request)
        return RefundTopupReply(refund=refund_view(request), created=created)


async def _new_request(
    session: AsyncSession,
    topup: Topup,
    request_id: str,
    amount_cents: int,
    reason: str,
    idempotency_key: str,
    requested_by: str,
) -> dict:
    """The request's row; checked against what remains refundable unless its refund is recorded
    already (a first try whose answer was lost, recorded since from its webhook)."""
    now = utcnow()
    row = {
        "id": request_id,
        "idempotency_key": idempotency_key,
        "topup_id": topup.id,
        "tenant_id": topup.tenant_id,
        "amount_cents": amount_cents,
        "reason": reason,
        "requested_by": requested_by,
        "status": "pending",
        "created_at": now,
        "updated_at": now,
    }
    recorded = await repository.refund_of_request(session, request_id)
    if recorded is not None and recorded.topup_id == topup.id and recorded.amount_cents == amount_cents:
        return {**row, "status": "succeeded", "stripe_refund_id": recorded.id}
    rules.check_paid(topup.status)
    refunded = (await repository.refunded_so_far(session, [topup.id]))[topup.id]
    remaining = rules.remaining_refundable(amount_cents=topup.amount_cents, refunded=refunded)
    rules.check_within_refundable(amount_cents=amount_cents, remaining_cents=remaining)
    return row


async def _refund_at_stripe(
    session: AsyncSession, adapter: StripeAdapter, topup: Topup, request: RefundRequest
) -> None:
    """Create the refund at Stripe and record it as the webhook would. A Stripe outage raises (the
    transaction and its hold roll back; the caller retries with the same key); a refusal is a conflict."""
    if not topup.payment_intent_id:
        raise rules.RefundRefused("this top-up has no payment at Stripe to refund")
    metadata = {
        "tenant_id": topup.tenant_id,
        "topup_id": topup.id,
        "refund_request_id": request.id,
        "reason": request.reason[:500],
    }
    try:
        refund = await adapter.refund(
            payment_intent_id=topup.payment_intent_id,
            amount_cents=request.amount_cents,
            idempotency_key=stripe_key("refund", request.idempotency_key),
            metadata=metadata,
        )
    except StripeIdempotencyConflict as exc:
        raise IdempotencyConflict(f"Stripe saw this key with another refund: {exc.message}") from exc
    except StripeInvalidRequest as exc:
        raise rules.RefundRefused(f"Stripe refused the refund: {exc.message}") from exc
    await session.execute(
        sa.update(RefundRequest)
        .where(RefundRequest.id == request.id, RefundRequest.stripe_refund_id.is_(None))
        .values(stripe_refund_id=refund["id"], updated_at=utcnow())
    )
    await settlement.settle_refunds(session, topup, [refund], correlation_id=f"refund-request:{request.id}")
    await session.refresh(request)
