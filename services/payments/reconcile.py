"""What each Stripe event does. The event only says *which* object changed: its current state is
re-read from Stripe, so stale, duplicated or reordered events all converge on the same outcome."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.payments import autotopup, cards, repository, settlement
from services.payments.stripe.client import StripeAdapter
from services.payments.stripe.errors import StripeNotFound
from services.payments.stripe.intent_outcome import outcome_of
from services.payments.tables import PaymentMethod, Topup

log = structlog.get_logger(__name__)
FAILED_INTENT = {"requires_payment_method", "canceled"}


@dataclass(frozen=True)
class Context:
    session: AsyncSession
    adapter: StripeAdapter
    event: dict[str, Any]
    portal_url: Callable[[str, str], str]

    @property
    def object(self) -> dict[str, Any]:
        return self.event["data"]["object"]

    @property
    def event_id(self) -> str:
        return self.event["id"]


def _id(value: object) -> str | None:
    return value.get("id") if isinstance(value, dict) else value  # type: ignore[return-value]


async def _card(ctx: Context, intent: dict[str, Any]):
    return await cards.card_of(ctx.session, ctx.adapter, _id(intent.get("payment_method")))


def _meta(obj: dict[str, Any]) -> dict[str, str]:
    return obj.get("metadata") or {}


async def _topup_for(ctx: Context, obj: dict[str, Any], **ids: str | None) -> Topup | None:
    topup = await repository.locked_topup(ctx.session, topup_id=_meta(obj).get("topup_id"), **ids)
    if topup is None or _meta(obj).get("tenant_id") not in (None, topup.tenant_id):
        log.info("stripe_event.not_ours", event_id=ctx.event_id, object_id=obj.get("id"))
        return None
    return topup


async def on_checkout_session(ctx: Context) -> None:
    session = await ctx.adapter.retrieve_checkout_session(ctx.object["id"])
    topup = await _topup_for(ctx, session, session_id=session["id"])
    if topup is None:
        return
    intent_id = session.get("payment_intent")
    if session.get("payment_status") == "paid" and intent_id:
        intent = await ctx.adapter.retrieve_payment_intent(intent_id)
        if intent.get("status") == "succeeded":
            await settlement.settle_paid(
                ctx.session, topup, intent=intent, correlation_id=ctx.event_id, card=await _card(ctx, intent)
            )
        customer = session.get("customer")
        if customer:
            await cards.sync_cards(ctx.session, ctx.adapter, tenant_id=topup.tenant_id, customer_id=customer)
    elif session.get("status") == "expired":
        await settlement.settle_expired(ctx.session, topup, correlation_id=ctx.event_id)


async def on_payment_intent(ctx: Context) -> None:
    # `succeeded` is final for a PaymentIntent, so that event cannot be stale; a failure can be
    # (the customer may have paid since), so it is checked against Stripe.
    succeeded = ctx.event["type"] == "payment_intent.succeeded" and ctx.object.get("status") == "succeeded"
    intent = ctx.object if succeeded else await ctx.adapter.retrieve_payment_intent(ctx.object["id"])
    topup = await _topup_for(ctx, intent, payment_intent_id=intent["id"])
    if topup is None:
        return
    if intent.get("status") == "succeeded":
        await settlement.settle_paid(
            ctx.session, topup, intent=intent, correlation_id=ctx.event_id, card=await _card(ctx, intent)
        )
    elif intent.get("status") in FAILED_INTENT and topup.source == "checkout":
        error = intent.get("last_payment_error") or {}
        await settlement.settle_failed(
            ctx.session,
            topup,
            code=error.get("code") or "payment_failed",
            reason=error.get("message"),
            payment_intent_id=intent["id"],
            correlation_id=ctx.event_id,
        )
    elif intent.get("status") in FAILED_INTENT and topup.status == "pending":
        # An off-session charge that was `processing` when its command recorded it, and failed since
        # (the row lock means a charge command still talking to Stripe has finished by now).
        await autotopup.settle(
            ctx.session,
            ctx.adapter,
            topup,
            outcome_of(intent),
            customer_id=intent.get("customer"),
            portal_url=ctx.portal_url,
            correlation_id=ctx.event_id,
        )


async def on_charge_refunded(ctx: Context) -> None:
    charge = await ctx.adapter.retrieve_charge(ctx.object["id"])
    intent_id = charge.get("payment_intent")
    intent = await ctx.adapter.retrieve_payment_intent(intent_id) if intent_id else charge
    topup = await _topup_for(ctx, intent, payment_intent_id=intent_id)
    if topup is None:
        return
    if intent.get("status") == "succeeded":  # a refund seen before its payment: credit first
        await settlement.settle_paid(
            ctx.session, topup, intent=intent, correlation_id=ctx.event_id, card=await _card(ctx, intent)
        )
    refunds = await ctx.adapter.list_refunds(charge_id=charge["id"])
    await settlement.settle_refunds(ctx.session, topup, refunds, correlation_id=ctx.event_id)


async def on_refund_updated(ctx: Context) -> None:
    """A refund that was `pending` when `charge.refunded` came (bank transfers, some cards) and has
    settled since: `charge.refund.updated` / `refund.updated` carry it; recorded once by its id."""
    refund = await ctx.adapter.retrieve_refund(ctx.object["id"])
    topup = await repository.locked_topup(ctx.session, payment_intent_id=_id(refund.get("payment_intent")))
    if topup is None:
        log.info("stripe_event.not_ours", event_id=ctx.event_id, object_id=refund.get("id"))
        return
    await settlement.settle_refunds(ctx.session, topup, [refund], correlation_id=ctx.event_id)


async def on_setup_intent(ctx: Context) -> None:
    customer = ctx.object.get("customer")
    tenant_id = await repository.tenant_of_customer(ctx.session, customer)
    if tenant_id and customer:
        await cards.sync_cards(ctx.session, ctx.adapter, tenant_id=tenant_id, customer_id=customer)


async def on_payment_method_detached(ctx: Context) -> None:
    card = await ctx.session.get(PaymentMethod, ctx.object["id"])
    if card is None:
        return
    customer = await repository.customer_id_of(ctx.session, card.tenant_id)
    if customer:
        await cards.sync_cards(ctx.session, ctx.adapter, tenant_id=card.tenant_id, customer_id=customer)


HANDLERS: dict[str, Callable[[Context], Awaitable[None]]] = {
    "checkout.session.completed": on_checkout_session,
    "checkout.session.expired": on_checkout_session,
    "payment_intent.succeeded": on_payment_intent,
    "payment_intent.payment_failed": on_payment_intent,
    "charge.refunded": on_charge_refunded,
    "charge.refund.updated": on_refund_updated,
    "refund.updated": on_refund_updated,
    "setup_intent.succeeded": on_setup_intent,
    "payment_method.detached": on_payment_method_detached,
}


async def apply_event(
    session: AsyncSession, adapter: StripeAdapter, event: dict[str, Any], *, portal_url: Callable[[str, str], str]
) -> None:
    handler = HANDLERS.get(event.get("type", ""))
    if handler is None:
        return
    try:
        await handler(Context(session, adapter, event, portal_url))
    except StripeNotFound:  # an object this Stripe account does not know: not ours, nothing to do
        log.warning("stripe_event.unknown_object", event_id=event.get("id"), type=event.get("type"))
