from __future__ import annotations

import asyncio
import uuid

import pytest

from devtools.stripe_emulator import Emulator
from devtools.stripe_emulator.receiver import WebhookReceiver
from services.payments.stripe.client import StripeAdapter
from services.payments.stripe.errors import StripeIdempotencyConflict
from services.payments.stripe.models import ChargeFailed, ChargeRequiresAuthentication, ChargeSucceeded


async def saved_card(adapter: StripeAdapter, emulator: Emulator, customer_id: str, number: str) -> str:
    card = await adapter.attach_payment_method(customer_id=customer_id, payment_method_id=emulator.create_card(number))
    return card.id


async def charge(
    adapter: StripeAdapter,
    customer_id: str,
    payment_method_id: str,
    *,
    amount_cents: int = 2000,
    key: str | None = None,
    tenant_id: str = "t",
):
    return await asyncio.wait_for(
        adapter.charge_off_session(
            customer_id=customer_id,
            payment_method_id=payment_method_id,
            amount_cents=amount_cents,
            idempotency_key=key or f"autotopup-{uuid.uuid4()}",
            metadata={"tenant_id": tenant_id, "kind": "auto"},
        ),
        timeout=10,
    )


async def test_off_session_charge_of_saved_card_succeeds(
    stripe_adapter: StripeAdapter,
    stripe_emulator: Emulator,
    customer_id: str,
    tenant_id: str,
) -> None:
    card = await saved_card(stripe_adapter, stripe_emulator, customer_id, "4242424242424242")

    outcome = await charge(stripe_adapter, customer_id, card, amount_cents=5000, tenant_id=tenant_id)

    assert isinstance(outcome, ChargeSucceeded)
    intent = await stripe_adapter.retrieve_payment_intent(outcome.payment_intent_id)
    paid = await stripe_adapter.retrieve_charge(outcome.charge_id)
    assert intent["status"] == "succeeded" and intent["metadata"] == {"tenant_id": tenant_id, "kind": "auto"}
    assert paid["amount"] == 5000 and paid["paid"] and paid["payment_intent"] == outcome.payment_intent_id
    assert paid["payment_method_details"]["card"]["last4"] == "4242"


async def test_card_that_attaches_but_declines_charges_fails_with_card_declined(
    stripe_adapter: StripeAdapter,
    stripe_emulator: Emulator,
    stripe_webhooks: WebhookReceiver,
    customer_id: str,
) -> None:
    card = await saved_card(stripe_adapter, stripe_emulator, customer_id, "4000000000000341")

    outcome = await charge(stripe_adapter, customer_id, card)

    assert isinstance(outcome, ChargeFailed)
    assert (outcome.code, outcome.decline_code) == ("card_declined", "generic_decline")
    assert outcome.message == "Your card was declined." and outcome.payment_intent_id
    failed = await stripe_webhooks.wait_for(
        "payment_intent.payment_failed", lambda d: d.object["id"] == outcome.payment_intent_id
    )
    assert failed.object["last_payment_error"]["code"] == "card_declined"
    await stripe_webhooks.wait_for("charge.failed", lambda d: d.object["payment_intent"] == outcome.payment_intent_id)


async def test_card_that_needs_authentication_pauses_instead_of_failing(
    stripe_adapter: StripeAdapter,
    stripe_emulator: Emulator,
    stripe_webhooks: WebhookReceiver,
    customer_id: str,
) -> None:
    card = await saved_card(stripe_adapter, stripe_emulator, customer_id, "4000002760003184")

    outcome = await charge(stripe_adapter, customer_id, card)

    assert isinstance(outcome, ChargeRequiresAuthentication)
    assert outcome.payment_intent_id and outcome.client_secret
    failed = await stripe_webhooks.wait_for(
        "payment_intent.payment_failed", lambda d: d.object["id"] == outcome.payment_intent_id
    )
    assert failed.object["last_payment_error"]["code"] == "authentication_required"
    assert failed.object["status"] == "requires_payment_method"


async def test_refund_sends_charge_refunded(
    stripe_adapter: StripeAdapter,
    stripe_emulator: Emulator,
    stripe_webhooks: WebhookReceiver,
    customer_id: str,
) -> None:
    card = await saved_card(stripe_adapter, stripe_emulator, customer_id, "4242424242424242")
    outcome = await charge(stripe_adapter, customer_id, card, amount_cents=3000)
    assert isinstance(outcome, ChargeSucceeded)

    stripe_emulator._post("/v1/refunds", {"payment_intent": outcome.payment_intent_id, "amount": 1000})

    refunded = await stripe_webhooks.wait_for("charge.refunded", lambda d: d.object["id"] == outcome.charge_id)
    assert refunded.object["amount_refunded"] == 1000 and refunded.object["refunded"] is False
    assert refunded.object["payment_intent"] == outcome.payment_intent_id
    assert (await stripe_adapter.retrieve_charge(outcome.charge_id))["amount_refunded"] == 1000


async def test_same_idempotency_key_twice_makes_one_payment_intent(
    stripe_adapter: StripeAdapter,
    stripe_emulator: Emulator,
    stripe_webhooks: WebhookReceiver,
    customer_id: str,
    tenant_id: str,
) -> None:
    card = await saved_card(stripe_adapter, stripe_emulator, customer_id, "4242424242424242")
    key = f"autotopup-{uuid.uuid4()}"

    first, second = await asyncio.gather(
        charge(stripe_adapter, customer_id, card, key=key, tenant_id=tenant_id),
        charge(stripe_adapter, customer_id, card, key=key, tenant_id=tenant_id),
    )
    third = await charge(stripe_adapter, customer_id, card, key=key, tenant_id=tenant_id)

    assert isinstance(first, ChargeSucceeded) and first == second == third
    await stripe_webhooks.wait_for("payment_intent.succeeded", lambda d: d.object["id"] == first.payment_intent_id)
    await asyncio.sleep(0.3)
    created = stripe_webhooks.matching(
        lambda d: d.type == "payment_intent.created" and d.object["metadata"].get("tenant_id") == tenant_id
    )
    assert len(created) == 1


async def test_same_idempotency_key_with_another_amount_is_a_conflict(
    stripe_adapter: StripeAdapter,
    stripe_emulator: Emulator,
    customer_id: str,
) -> None:
    card = await saved_card(stripe_adapter, stripe_emulator, customer_id, "4242424242424242")
    key = f"autotopup-{uuid.uuid4()}"
    await charge(stripe_adapter, customer_id, card, key=key, amount_cents=2000)

    with pytest.raises(StripeIdempotencyConflict):
        await charge(stripe_adapter, customer_id, card, key=key, amount_cents=9000)


async def test_replayed_decline_gives_the_same_outcome(
    stripe_adapter: StripeAdapter,
    stripe_emulator: Emulator,
    customer_id: str,
) -> None:
    card = await saved_card(stripe_adapter, stripe_emulator, customer_id, "4000000000000341")
    key = f"autotopup-{uuid.uuid4()}"

    assert await charge(stripe_adapter, customer_id, card, key=key) == await charge(
        stripe_adapter, customer_id, card, key=key
    )
