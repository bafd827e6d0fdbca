from __future__ import annotations

import pytest

from devtools.stripe_emulator import Emulator
from devtools.stripe_emulator.receiver import WebhookReceiver
from services.payments.stripe.client import StripeAdapter
from services.payments.stripe.errors import CardDeclined, StripeNotFound


async def test_attached_visa_is_listed_with_brand_and_last4(stripe_adapter: StripeAdapter, customer_id: str) -> None:
    card = await stripe_adapter.attach_payment_method(customer_id=customer_id, payment_method_id="pm_card_visa")

    listed = await stripe_adapter.list_payment_methods(customer_id=customer_id)

    assert card.id.startswith("pm_") and card.id != "pm_card_visa"
    assert (card.brand, card.last4, card.exp_month) == ("visa", "4242", 12) and card.exp_year >= 2030
    assert listed == [card]


async def test_card_4000000000000002_is_declined_when_attached(
    stripe_adapter: StripeAdapter,
    stripe_emulator: Emulator,
    customer_id: str,
) -> None:
    payment_method = stripe_emulator.create_card("4000000000000002")

    with pytest.raises(CardDeclined) as declined:
        await stripe_adapter.attach_payment_method(customer_id=customer_id, payment_method_id=payment_method)

    assert declined.value.code == "card_declined" and declined.value.decline_code == "generic_decline"
    assert declined.value.message
    assert await stripe_adapter.list_payment_methods(customer_id=customer_id) == []


async def test_default_card_is_set_and_cleared_when_detached(
    stripe_adapter: StripeAdapter,
    stripe_webhooks: WebhookReceiver,
    customer_id: str,
) -> None:
    card = await stripe_adapter.attach_payment_method(customer_id=customer_id, payment_method_id="pm_card_mastercard")
    await stripe_adapter.set_default_payment_method(customer_id=customer_id, payment_method_id=card.id)
    assert await stripe_adapter.default_payment_method(customer_id=customer_id) == card.id

    await stripe_adapter.detach_payment_method(payment_method_id=card.id)

    detached = await stripe_webhooks.wait_for("payment_method.detached", lambda d: d.object["id"] == card.id)
    assert detached.object["customer"] is None and card.brand == "mastercard"
    assert await stripe_adapter.default_payment_method(customer_id=customer_id) is None
    assert await stripe_adapter.list_payment_methods(customer_id=customer_id) == []


async def test_setup_intent_saves_the_card_and_reports_it(
    stripe_adapter: StripeAdapter,
    stripe_emulator: Emulator,
    stripe_webhooks: WebhookReceiver,
    customer_id: str,
) -> None:
    setup = await stripe_adapter.create_setup_intent(customer_id=customer_id, metadata={"purpose": "autotopup"})
    assert setup.id.startswith("seti_") and setup.client_secret.startswith(setup.id)

    stripe_emulator._post(f"/v1/setup_intents/{setup.id}/confirm", {"payment_method": "pm_card_visa"})

    succeeded = await stripe_webhooks.wait_for("setup_intent.succeeded", lambda d: d.object["id"] == setup.id)
    cards = await stripe_adapter.list_payment_methods(customer_id=customer_id)
    assert [card.id for card in cards] == [succeeded.object["payment_method"]]


async def test_unknown_ids_raise_not_found(stripe_adapter: StripeAdapter) -> None:
    with pytest.raises(StripeNotFound):
        await stripe_adapter.retrieve_payment_intent("pi_doesnotexist")
    with pytest.raises(StripeNotFound):
        await stripe_adapter.retrieve_checkout_session("cs_test_doesnotexist")
