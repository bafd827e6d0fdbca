from __future__ import annotations

import time
import uuid

import httpx
import pytest

from devtools.stripe_emulator import Emulator, EmulatorError
from devtools.stripe_emulator.receiver import WebhookReceiver
from services.payments.stripe.client import StripeAdapter, verify_webhook

from .conftest import WEBHOOK_SECRET


async def open_session(adapter: StripeAdapter, customer_id: str, tenant_id: str, amount_cents: int = 2500):
    topup_id = f"topup-{uuid.uuid4()}"
    session = await adapter.create_checkout_session(
        customer_id=customer_id,
        amount_cents=amount_cents,
        metadata={"tenant_id": tenant_id, "topup_id": topup_id},
        success_url="https://portal.example/topups/done?session={CHECKOUT_SESSION_ID}",
        cancel_url="https://portal.example/topups",
        idempotency_key=f"checkout-{topup_id}",
    )
    return session, topup_id


async def test_customer_is_created_once_per_tenant(
    stripe_adapter: StripeAdapter, stripe_emulator: Emulator, tenant_id: str
) -> None:
    first = await stripe_adapter.ensure_customer(tenant_id=tenant_id, email="a@example.de", name="A GmbH")
    again = await stripe_adapter.ensure_customer(tenant_id=tenant_id, email="a@example.de", name="A GmbH")
    other = await stripe_adapter.ensure_customer(tenant_id=f"{tenant_id}-other")

    assert first == again != other
    assert first.startswith("cus_")
    assert stripe_emulator.get(f"/v1/customers/{first}")["metadata"] == {"tenant_id": tenant_id}


async def test_new_checkout_session_is_open_and_unpaid(
    stripe_adapter: StripeAdapter, stripe_emulator: Emulator, customer_id: str, tenant_id: str
) -> None:
    session, topup_id = await open_session(stripe_adapter, customer_id, tenant_id)

    stored = await stripe_adapter.retrieve_checkout_session(session.id)
    assert session.id.startswith("cs_test_") and session.url and session.status == "open"
    assert session.payment_status == "unpaid" and session.payment_intent_id is None
    assert stored["object"] == "checkout.session" and stored["amount_total"] == 2500 and stored["currency"] == "eur"
    assert stored["metadata"] == {"tenant_id": tenant_id, "topup_id": topup_id}
    assert stored["customer"] == customer_id and stored["mode"] == "payment"


async def test_paid_checkout_sends_signed_webhooks_and_saves_the_card(
    stripe_adapter: StripeAdapter,
    stripe_emulator: Emulator,
    stripe_webhooks: WebhookReceiver,
    customer_id: str,
    tenant_id: str,
) -> None:
    session, topup_id = await open_session(stripe_adapter, customer_id, tenant_id)

    stripe_emulator.pay_checkout_session(session.id, payment_method="pm_card_visa")

    completed = await stripe_webhooks.wait_for("checkout.session.completed", lambda d: d.object["id"] == session.id)
    intent_id = completed.object["payment_intent"]
    ours = stripe_webhooks.matching(
        lambda d: (
            intent_id in (d.object.get("id"), d.object.get("payment_intent"))
            or (d.object.get("customer") == customer_id and d.type.startswith("payment_method"))
        )
    )
    assert [d.type for d in ours] == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "payment_method.attached",
        "checkout.session.completed",
    ]
    for delivery in ours:
        assert verify_webhook(delivery.payload, delivery.signature, WEBHOOK_SECRET)["id"] == delivery.event["id"]
    succeeded = next(d.object for d in ours if d.type == "payment_intent.succeeded")
    assert succeeded["metadata"] == {"tenant_id": tenant_id, "topup_id": topup_id}
    assert succeeded["amount"] == 2500 and succeeded["setup_future_usage"] == "off_session"
    assert completed.object["payment_status"] == "paid" and completed.object["metadata"]["topup_id"] == topup_id
    cards = await stripe_adapter.list_payment_methods(customer_id=customer_id)
    assert [(card.brand, card.last4) for card in cards] == [("visa", "4242")]


async def test_declined_checkout_payment_leaves_the_session_open(
    stripe_adapter: StripeAdapter,
    stripe_emulator: Emulator,
    stripe_webhooks: WebhookReceiver,
    customer_id: str,
    tenant_id: str,
) -> None:
    session, _ = await open_session(stripe_adapter, customer_id, tenant_id)

    with pytest.raises(EmulatorError) as declined:
        stripe_emulator.pay_checkout_session(session.id, card_number="4000000000009995")

    assert declined.value.status == 402 and declined.value.error["decline_code"] == "insufficient_funds"
    failed = await stripe_webhooks.wait_for(
        "payment_intent.payment_failed", lambda d: d.object["customer"] == customer_id
    )
    assert failed.object["last_payment_error"]["decline_code"] == "insufficient_funds"
    assert (await stripe_adapter.retrieve_checkout_session(session.id))["status"] == "open"


async def test_expired_checkout_session_sends_checkout_session_expired(
    stripe_adapter: StripeAdapter,
    stripe_webhooks: WebhookReceiver,
    customer_id: str,
    tenant_id: str,
) -> None:
    session, topup_id = await open_session(stripe_adapter, customer_id, tenant_id)

    expired = await stripe_adapter.expire_checkout_session(session.id)

    delivery = await stripe_webhooks.wait_for("checkout.session.expired", lambda d: d.object["id"] == session.id)
    assert expired.status == "expired" and expired.url is None
    assert delivery.object["metadata"]["topup_id"] == topup_id
    assert verify_webhook(delivery.payload, delivery.signature, WEBHOOK_SECRET)["type"] == "checkout.session.expired"


async def test_same_checkout_idempotency_key_gives_the_same_session(
    stripe_adapter: StripeAdapter,
    customer_id: str,
    tenant_id: str,
) -> None:
    kwargs = {
        "customer_id": customer_id,
        "amount_cents": 5000,
        "metadata": {"tenant_id": tenant_id},
        "success_url": "https://portal.example/ok",
        "cancel_url": "https://portal.example/no",
        "idempotency_key": f"checkout-{uuid.uuid4()}",
    }

    first = await stripe_adapter.create_checkout_session(**kwargs)
    second = await stripe_adapter.create_checkout_session(**kwargs)

    assert first.id == second.id


async def test_checkout_session_expires_by_itself_at_expires_at(
    stripe_adapter: StripeAdapter, stripe_webhooks: WebhookReceiver, customer_id: str
) -> None:
    session = await stripe_adapter.create_checkout_session(
        customer_id=customer_id,
        amount_cents=1500,
        metadata={"topup_id": "soon-expired"},
        success_url="https://portal.example/ok",
        cancel_url="https://portal.example/no",
        idempotency_key=f"checkout-{uuid.uuid4()}",
        expires_at=int(time.time()) + 1,
    )

    await stripe_webhooks.wait_for("checkout.session.expired", lambda d: d.object["id"] == session.id)
    assert (await stripe_adapter.retrieve_checkout_session(session.id))["status"] == "expired"


async def test_hosted_checkout_page_pays_and_redirects_to_success_url(
    stripe_adapter: StripeAdapter, customer_id: str, tenant_id: str
) -> None:
    session, _ = await open_session(stripe_adapter, customer_id, tenant_id)
    assert session.url

    async with httpx.AsyncClient() as browser:
        page = await browser.get(session.url)
        paid = await browser.post(session.url, data={"card_number": "4242 4242 4242 4242", "action": "pay"})

    assert page.status_code == 200 and "25.00 EUR" in page.text
    assert paid.status_code == 303
    assert paid.headers["location"] == f"https://portal.example/topups/done?session={session.id}"
    assert (await stripe_adapter.retrieve_checkout_session(session.id))["payment_status"] == "paid"
