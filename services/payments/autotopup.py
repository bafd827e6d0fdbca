"""The off-session charge billing requests for an auto top-up: never twice for one trigger, never hung.

1. Record the attempt first (unique trigger id): a redelivered command finds it.
2. Charge with an idempotency key derived from the trigger, holding the attempt's row lock for the
   duration of the call: a check (below) or a webhook about the same charge waits for its answer.
   After a crash between the charge and step 3, the retry gets Stripe's first answer back (the same
   PaymentIntent), not a new charge.
3. Record the outcome with its event. SCA is a failure with a Checkout link, never a wait.

Every Stripe answer maps to an outcome:
* succeeded → TopupPaid; declined, invalid request, unknown card → TopupFailed (counted by billing);
* authentication required → TopupFailed with the link (billing pauses, not counted);
* processing → nothing yet (payment_intent.succeeded / payment_failed settles it, or the check);
* 5xx, 429, timeout, connection error, wrong API key → transient: the command is retried with the
  same idempotency key until Stripe answers (runtime.retries), never dead-lettered;
* an idempotency conflict → nothing recorded: the check settles it from what Stripe holds.

**The check** (`AutoTopupCheckRequested`, sent by billing's monitor when a charge has been in flight
longer than AUTOTOPUP_INFLIGHT_TIMEOUT_S) settles the charge as it really is at Stripe: the
PaymentIntent found by its id or by the trigger in its metadata. Succeeded → paid; failed → failed;
requires action → paused with a link; processing → still in flight (asked again later); not at Stripe
at all → failed as `not_charged` — and because the attempt is then final, a charge command that is
still being retried finds it decided and never charges.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import new_id, utcnow
from contracts.billing.v1 import AutoTopupCheckRequested, AutoTopupRequested
from runtime import outbox
from runtime.db import Database
from runtime.tables import table_of
from services.payments import cards, events, repository, settlement
from services.payments.checkout_topups import stripe_key
from services.payments.domain.bonus import BonusTier, bonus_for
from services.payments.stripe.client import StripeAdapter
from services.payments.stripe.errors import StripeIdempotencyConflict, StripeInvalidRequest, StripeNotFound
from services.payments.stripe.intent_outcome import outcome_of
from services.payments.stripe.models import (
    ChargeFailed,
    ChargeOutcome,
    ChargePending,
    ChargeRequiresAuthentication,
    ChargeSucceeded,
)
from services.payments.tables import Topup

log = structlog.get_logger(__name__)
PortalUrl = Callable[[str, str], str]
NOT_CHARGED = "not_charged"


async def record_attempt(
    *,
    db: Database,
    request: AutoTopupRequested | AutoTopupCheckRequested,
    tiers: tuple[BonusTier, ...],
    payment_method_id: str | None = None,
) -> Topup:
    """The attempt for this trigger (created by the first delivery), with the card it charges."""
    async with db.transaction() as session:
        card = payment_method_id or await repository.default_card_id(session, request.tenant_id)
        now = utcnow()
        await repository.insert_new(
            session,
            table_of(Topup),
            {
                "id": new_id("top_")[:40],
                "tenant_id": request.tenant_id,
                "source": "auto",
                "trigger_id": request.trigger_id,
                "amount_cents": request.amount_cents,
                "bonus_cents": bonus_for(request.amount_cents, tiers),
                "status": "pending",
                "payment_method_id": card,
                "created_at": now,
                "updated_at": now,
            },
        )
        topup = await repository.topup_where(session, Topup.trigger_id == request.trigger_id)
    assert topup is not None
    return topup


async def charge_saved_card(
    *,
    db: Database,
    adapter: StripeAdapter,
    request: AutoTopupRequested,
    tiers: tuple[BonusTier, ...],
    portal_url: PortalUrl,
) -> None:
    topup = await record_attempt(db=db, request=request, tiers=tiers, payment_method_id=request.payment_method_id)
    if topup.status != "pending" or topup.tenant_id != request.tenant_id:
        return  # decided by an earlier delivery or a check (or a trigger id reused by another tenant)
    async with db.transaction() as session:
        topup = await repository.locked_topup(session, topup_id=topup.id)
        if topup is None or topup.status != "pending" or topup.payment_intent_id:
            return  # decided meanwhile, or Stripe already has it (processing): its webhooks settle it
        customer_id = await repository.customer_id_of(session, topup.tenant_id)
        if customer_id is None or topup.payment_method_id is None:
            outcome: ChargeOutcome = ChargeFailed("no_payment_method", None, "", None)
        else:
            try:
                outcome = await _charge(adapter, topup, customer_id)
            except StripeIdempotencyConflict as exc:  # an earlier request with this key exists at Stripe
                log.error("autotopup.idempotency_conflict", topup_id=topup.id, error=exc.message)
                return  # never a second charge: the check settles it from what Stripe holds
        await settle(
            session,
            adapter,
            topup,
            outcome,
            customer_id=customer_id,
            portal_url=portal_url,
            correlation_id=request.event_id,
        )


async def _charge(adapter: StripeAdapter, topup: Topup, customer_id: str) -> ChargeOutcome:
    try:
        return await adapter.charge_off_session(
            customer_id=customer_id,
            payment_method_id=topup.payment_method_id or "",
            amount_cents=topup.amount_cents,
            idempotency_key=stripe_key("autotopup", topup.tenant_id, topup.trigger_id or topup.id),
            metadata=_metadata(topup),
            description="Automatische Aufladung",
        )
    except (StripeInvalidRequest, StripeNotFound) as exc:  # e.g. the card was removed meanwhile
        return ChargeFailed(exc.code or "invalid_request", None, exc.message, None)


def _metadata(topup: Topup) -> dict[str, str]:
    return {"tenant_id": topup.tenant_id, "topup_id": topup.id, "trigger_id": topup.trigger_id or "", "source": "auto"}


async def settle(
    session: AsyncSession,
    adapter: StripeAdapter,
    topup: Topup,
    outcome: ChargeOutcome,
    *,
    customer_id: str | None,
    portal_url: PortalUrl,
    correlation_id: str | None,
) -> None:
    """Record what Stripe answered for the (locked) attempt, with its event; pending records the intent."""
    if isinstance(outcome, ChargeSucceeded):
        intent = {"id": outcome.payment_intent_id, "latest_charge": outcome.charge_id}
        await settlement.settle_paid(
            session,
            topup,
            intent=intent,
            correlation_id=correlation_id,
            card=await cards.card_of(session, adapter, topup.payment_method_id),
        )
    elif isinstance(outcome, ChargeRequiresAuthentication):
        action_url = await _authentication_link(adapter, topup, customer_id or "", portal_url)
        await settlement.settle_failed(
            session,
            topup,
            code="authentication_required",
            reason=None,
            payment_intent_id=outcome.payment_intent_id,
            action_url=action_url,
            correlation_id=correlation_id,
        )
    elif isinstance(outcome, ChargeFailed):
        await settlement.settle_failed(
            session,
            topup,
            code=outcome.code,
            reason=outcome.message,
            payment_intent_id=outcome.payment_intent_id,
            correlation_id=correlation_id,
        )
    elif isinstance(outcome, ChargePending):  # payment_intent.succeeded / payment_failed will settle it
        topup.payment_intent_id, topup.updated_at = outcome.payment_intent_id, utcnow()
        session.add(topup)


async def _authentication_link(
    adapter: StripeAdapter, topup: Topup, customer_id: str, portal_url: PortalUrl
) -> str | None:
    """A Checkout Session for the same top-up: paying it credits this top-up (and resumes the rule)."""
    session = await adapter.create_checkout_session(
        customer_id=customer_id,
        amount_cents=topup.amount_cents,
        metadata={"tenant_id": topup.tenant_id, "topup_id": topup.id},
        success_url=portal_url(topup.id, "success"),
        cancel_url=portal_url(topup.id, "cancel"),
        idempotency_key=stripe_key("autotopup-sca", topup.tenant_id, topup.trigger_id or topup.id),
    )
    return session.url


async def check_charge(
    *,
    db: Database,
    adapter: StripeAdapter,
    request: AutoTopupCheckRequested,
    tiers: tuple[BonusTier, ...],
    portal_url: PortalUrl,
) -> str:
    """Settle an overdue charge as it really is at Stripe and tell billing again; answers the status."""
    topup = await record_attempt(db=db, request=request, tiers=tiers)  # a command that never arrived
    async with db.transaction() as session:
        topup = await repository.locked_topup(session, topup_id=topup.id)  # waits for a charge call
        if topup is None or topup.tenant_id != request.tenant_id:
            return "not_ours"
        if topup.status == "pending":
            customer_id = await repository.customer_id_of(session, topup.tenant_id)
            intent = await _intent_at_stripe(adapter, topup, customer_id)
            if intent is None:
                await settlement.settle_failed(
                    session, topup, code=NOT_CHARGED, reason=None, correlation_id=request.event_id
                )
            else:
                await settle(
                    session,
                    adapter,
                    topup,
                    outcome_of(intent),
                    customer_id=customer_id,
                    portal_url=portal_url,
                    correlation_id=request.event_id,
                )
            log.warning(
                "autotopup.checked",
                topup_id=topup.id,
                trigger_id=topup.trigger_id,
                found_at_stripe=intent is not None,
                status=topup.status,
            )
        else:  # decided, but billing did not get it in time: tell it once more (it applies outcomes once)
            await outbox.add(session, _repeat(topup, request))
        return topup.status


async def _intent_at_stripe(adapter: StripeAdapter, topup: Topup, customer_id: str | None) -> dict | None:
    """The charge's PaymentIntent: by the id we stored, else by the trigger in its metadata among the
    customer's PaymentIntents created since the attempt (an hour's margin for clock skew)."""
    if topup.payment_intent_id:
        return await adapter.retrieve_payment_intent(topup.payment_intent_id)
    if customer_id is None:
        return None
    since = topup.created_at - timedelta(hours=1)
    for intent in await adapter.list_payment_intents(customer_id=customer_id, created_since=since):
        if (intent.get("metadata") or {}).get("trigger_id") == topup.trigger_id:
            return intent
    return None


def _repeat(topup: Topup, request: AutoTopupCheckRequested) -> list:
    """The attempt's outcome again, under new event ids (the first ones may be inside JetStream's
    duplicate window); billing applies each outcome once per trigger, so a repeat changes nothing."""
    suffix = request.event_id[-12:]
    if topup.status in ("succeeded", "refunded"):
        paid = events.topup_paid(topup, paid_at=topup.updated_at, correlation_id=request.event_id)
        return [paid.model_copy(update={"event_id": f"{paid.event_id}_{suffix}"})]
    repeated = []
    for event in events.topup_failed(topup, action_url=topup.checkout_url, correlation_id=request.event_id):
        repeated.append(event.model_copy(update={"event_id": f"{event.event_id}_{suffix}"}))
    if topup.status == "expired":
        expired = events.topup_expired(topup, correlation_id=request.event_id)
        repeated.append(expired.model_copy(update={"event_id": f"{expired.event_id}_{suffix}"}))
    return repeated
