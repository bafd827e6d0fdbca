"""The off-session charge billing requests for an auto top-up: never twice for one trigger.

1. Record the attempt first (unique trigger id): a redelivered command finds it.
2. Charge with an idempotency key derived from the trigger: after a crash between the charge and
   step 3, the retry gets Stripe's first answer back (the same PaymentIntent), not a new charge.
3. Record the outcome with its event. SCA is a failure with a Checkout link, never a wait.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from contracts.base import new_id, utcnow
from contracts.billing.v1 import AutoTopupRequested
from runtime.db import Database
from services.payments import repository, settlement
from services.payments.domain.bonus import BonusTier, bonus_for
from services.payments.stripe_client import StripeAdapter
from services.payments.stripe_errors import StripeInvalidRequest, StripeNotFound
from services.payments.stripe_types import ChargeFailed, ChargeOutcome, ChargeRequiresAuthentication, ChargeSucceeded
from services.payments.tables import Topup
from services.payments.use_cases import stripe_key


async def record_attempt(*, db: Database, request: AutoTopupRequested, tiers: tuple[BonusTier, ...]) -> Topup:
    """The attempt for this trigger (created by the first delivery), with the card it charges."""
    async with db.transaction() as session:
        card = request.payment_method_id or await repository.default_card_id(session, request.tenant_id)
        now = utcnow()
        await repository.insert_new(session, Topup.__table__, {
            "id": new_id("top_")[:40], "tenant_id": request.tenant_id, "source": "auto",
            "trigger_id": request.trigger_id, "amount_cents": request.amount_cents,
            "bonus_cents": bonus_for(request.amount_cents, tiers), "status": "pending",
            "payment_method_id": card, "created_at": now, "updated_at": now})
        topup = await repository.topup_where(session, Topup.trigger_id == request.trigger_id)
    assert topup is not None
    return topup


async def charge_saved_card(*, db: Database, adapter: StripeAdapter, request: AutoTopupRequested,
                            tiers: tuple[BonusTier, ...], portal_url: Callable[[str, str], str]) -> None:
    topup = await record_attempt(db=db, request=request, tiers=tiers)
    if topup.status != "pending" or topup.tenant_id != request.tenant_id:
        return  # decided by an earlier delivery (or a trigger id reused by another tenant)
    async with db.sessions() as session:
        customer_id = await repository.customer_id_of(session, topup.tenant_id)
    if customer_id is None or topup.payment_method_id is None:
        outcome: ChargeOutcome = ChargeFailed("no_payment_method", None, "", None)
    else:
        outcome = await _charge(adapter, topup, customer_id)
    action_url = None
    if isinstance(outcome, ChargeRequiresAuthentication):
        action_url = await _authentication_link(adapter, topup, customer_id or "", portal_url)
    await record_outcome(db=db, topup_id=topup.id, outcome=outcome, action_url=action_url,
                         correlation_id=request.event_id)


async def _charge(adapter: StripeAdapter, topup: Topup, customer_id: str) -> ChargeOutcome:
    try:
        return await adapter.charge_off_session(
            customer_id=customer_id, payment_method_id=topup.payment_method_id or "",
            amount_cents=topup.amount_cents, idempotency_key=stripe_key("autotopup", topup.tenant_id,
                                                                         topup.trigger_id or topup.id),
            metadata={"tenant_id": topup.tenant_id, "topup_id": topup.id, "trigger_id": topup.trigger_id or "",
                      "source": "auto"},
            description="Automatische Aufladung")
    except (StripeInvalidRequest, StripeNotFound) as exc:  # e.g. the card was removed meanwhile
        return ChargeFailed(exc.code or "invalid_request", None, exc.message, None)


async def _authentication_link(adapter: StripeAdapter, topup: Topup, customer_id: str,
                               portal_url: Callable[[str, str], str]) -> str | None:
    """A Checkout Session for the same top-up: paying it credits this top-up (and resumes the rule)."""
    session = await adapter.create_checkout_session(
        customer_id=customer_id, amount_cents=topup.amount_cents,
        metadata={"tenant_id": topup.tenant_id, "topup_id": topup.id},
        success_url=portal_url(topup.id, "success"), cancel_url=portal_url(topup.id, "cancel"),
        idempotency_key=stripe_key("autotopup-sca", topup.tenant_id, topup.trigger_id or topup.id))
    return session.url


async def record_outcome(*, db: Database, topup_id: str, outcome: ChargeOutcome,
                         action_url: str | None, correlation_id: str | None) -> None:
    async with db.transaction() as session:
        topup = await repository.locked_topup(session, topup_id=topup_id)
        if topup is None:
            return
        if isinstance(outcome, ChargeSucceeded):
            intent = {"id": outcome.payment_intent_id, "latest_charge": outcome.charge_id}
            await settlement.settle_paid(session, topup, intent=intent, correlation_id=correlation_id)
        elif isinstance(outcome, ChargeRequiresAuthentication):
            await settlement.settle_failed(session, topup, code="authentication_required", reason=None,
                                           payment_intent_id=outcome.payment_intent_id, action_url=action_url,
                                           correlation_id=correlation_id)
        elif isinstance(outcome, ChargeFailed):
            await settlement.settle_failed(session, topup, code=outcome.code, reason=outcome.message,
                                           payment_intent_id=outcome.payment_intent_id,
                                           correlation_id=correlation_id)
        else:  # pending: payment_intent.succeeded / payment_failed will settle it
            await session.execute(sa.update(Topup).where(Topup.id == topup_id)
                                  .values(payment_intent_id=outcome.payment_intent_id, updated_at=utcnow()))
