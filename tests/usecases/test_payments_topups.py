"""Payments' top-up use cases against the local Stripe emulator and real PostgreSQL, without NATS:
a Checkout top-up is idempotent by its key, and a paid top-up is settled (TopupPaid) once however its
webhooks arrive; refunds are booked once per refund id."""

import asyncio
import hashlib
import hmac
import json
import time

import pytest

from services.payments import checkout_topups, webhooks
from services.payments.domain.bonus import parse_tiers
from services.payments.domain.topups import AmountOutOfRange, IdempotencyConflict, Limits

SECRET = "whsec_usecases"
PAID = "payments.topup.paid.v1"
REFUNDED = "payments.payment.refunded.v1"
CONFIG = checkout_topups.CheckoutConfig(
    limits=Limits(1000, 1_000_000),
    tiers=parse_tiers("10000:5,25000:10,50000:15"),
    portal_url=lambda topup_id, outcome: f"http://portal.test/{topup_id}/{outcome}",
)


def signed(payload: str) -> str:
    """Stripe's signature header for `payload` (what Stripe sends; verified with the SDK's check)."""
    timestamp = int(time.time())
    digest = hmac.new(SECRET.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


async def deliver(db, event: dict):
    payload = json.dumps(event)
    return await webhooks.ingest_webhook(
        db=db, payload=payload, signature=signed(payload), secret=SECRET, tolerance_s=300
    )


async def process_all(workers: webhooks.WebhookWorkers) -> None:
    while await workers.process_next():
        pass


@pytest.fixture
def workers(payments_db, stripe) -> webhooks.WebhookWorkers:
    return webhooks.WebhookWorkers(payments_db, stripe, CONFIG.portal_url)


async def create(payments_db, stripe, tenant_id: str, cents: int = 10000, key: str = "k1"):
    return await checkout_topups.create_topup(
        db=payments_db,
        adapter=stripe,
        config=CONFIG,
        tenant_id=tenant_id,
        amount_cents=cents,
        idempotency_key=f"{tenant_id}-{key}",
    )


async def paid_at_stripe(emulator, payments_db, stripe, tenant_id: str, cents: int = 10000):
    """A Checkout top-up the customer paid on the hosted page; answers it and Stripe's events about it."""
    reply = await create(payments_db, stripe, tenant_id, cents)
    session_id = reply.topup.checkout_url.rstrip("/").rsplit("/", 1)[-1]
    await asyncio.to_thread(emulator.pay_checkout_session, session_id)
    return reply.topup, await stripe_events(emulator, reply.topup.id)


async def stripe_events(emulator, topup_id: str) -> dict[str, dict]:
    """The event of each type whose object carries `topup_id` in its metadata."""
    listed = (await asyncio.to_thread(emulator.get, "/v1/events?limit=100"))["data"]
    found: dict[str, dict] = {}
    for event in listed:
        if (event["data"]["object"].get("metadata") or {}).get("topup_id") == topup_id:
            found[event["type"]] = event
    return found


async def test_same_idempotency_key_makes_one_topup_with_one_checkout_session(
    payments_db, stripe, stripe_emulator, tenant_id
):
    first = await create(payments_db, stripe, tenant_id)
    racing = await asyncio.gather(*(create(payments_db, stripe, tenant_id) for _ in range(3)))

    assert first.created and not any(r.created for r in racing)
    assert {r.topup.id for r in racing} == {first.topup.id}
    assert {r.topup.checkout_url for r in racing} == {first.topup.checkout_url}
    assert first.topup.bonus_cents == 500  # +5 % from 100 €, decided here and carried to billing
    customer = (await asyncio.to_thread(stripe_emulator.get, "/v1/checkout/sessions?limit=100"))["data"]
    assert len([s for s in customer if (s.get("metadata") or {}).get("tenant_id") == tenant_id]) == 1


async def test_same_key_with_another_amount_is_a_conflict(payments_db, stripe, tenant_id):
    await create(payments_db, stripe, tenant_id, 10000)
    with pytest.raises(IdempotencyConflict):
        await create(payments_db, stripe, tenant_id, 20000)


async def test_an_amount_outside_the_limits_is_refused_before_anything_is_stored(payments_db, tenant_id):
    with pytest.raises(AmountOutOfRange):  # refused before Stripe is asked: no adapter needed
        await checkout_topups.create_topup(
            db=payments_db, adapter=None, config=CONFIG, tenant_id=tenant_id, amount_cents=999, idempotency_key="k"
        )
    with pytest.raises(checkout_topups.TopupNotFound):
        await checkout_topups.get_topup(db=payments_db, tenant_id=tenant_id, topup_id="top_none")


async def test_a_paid_topup_is_settled_once_from_two_deliveries_of_its_webhook(
    payments_db, payments_outbox, stripe, stripe_emulator, workers, tenant_id
):
    topup, events = await paid_at_stripe(stripe_emulator, payments_db, stripe, tenant_id)
    succeeded = events["payment_intent.succeeded"]
    replies = [await deliver(payments_db, succeeded) for _ in range(2)]
    assert [r.duplicate for r in replies] == [False, True]
    await process_all(workers)
    await deliver(payments_db, succeeded)  # and once more after it was processed
    await process_all(workers)

    [paid] = await payments_outbox.on(PAID)
    assert (paid.payload["topup_id"], paid.payload["amount_cents"], paid.payload["bonus_cents"]) == (
        topup.id,
        10000,
        500,
    )
    view = await checkout_topups.get_topup(db=payments_db, tenant_id=tenant_id, topup_id=topup.id)
    assert view.topup.status == "succeeded"


async def test_every_event_about_one_paid_intent_settles_it_once_even_on_concurrent_workers(
    payments_db, payments_outbox, stripe, stripe_emulator, workers, tenant_id
):
    """checkout.session.completed and payment_intent.succeeded both say "paid"; two workers take them at
    the same time and meet on the top-up's row lock."""
    topup, events = await paid_at_stripe(stripe_emulator, payments_db, stripe, tenant_id)
    for event in (events["checkout.session.completed"], events["payment_intent.succeeded"]):
        await deliver(payments_db, event)
    await asyncio.gather(process_all(workers), process_all(workers))

    assert [p.payload["topup_id"] for p in await payments_outbox.on(PAID)] == [topup.id]


async def test_refunds_are_booked_once_per_refund_and_a_full_refund_marks_the_topup(
    payments_db, payments_outbox, stripe, stripe_emulator, workers, tenant_id
):
    topup, events = await paid_at_stripe(stripe_emulator, payments_db, stripe, tenant_id)
    await deliver(payments_db, events["payment_intent.succeeded"])
    await process_all(workers)
    intent = events["payment_intent.succeeded"]["data"]["object"]["id"]
    for n, cents in enumerate((3000, 7000)):
        await stripe.refund(payment_intent_id=intent, idempotency_key=f"{tenant_id}-rf{n}", amount_cents=cents)
        listed = (await asyncio.to_thread(stripe_emulator.get, "/v1/events?limit=100"))["data"]
        [refunded] = [
            e for e in listed if e["type"] == "charge.refunded" and e["data"]["object"].get("payment_intent") == intent
        ][-1:]  # this refund's
        await deliver(payments_db, refunded)
        await process_all(workers)
        await deliver(payments_db, {**refunded, "id": refunded["id"] + "_again"})  # the same news, another event
        await process_all(workers)

    refunds = await payments_outbox.on(REFUNDED)
    assert sorted(r.payload["amount_cents"] for r in refunds) == [3000, 7000]
    assert {r.payload["topup_id"] for r in refunds} == {topup.id}
    view = await checkout_topups.get_topup(db=payments_db, tenant_id=tenant_id, topup_id=topup.id)
    assert view.topup.status == "refunded"
    assert len(await payments_outbox.on(PAID)) == 1


async def test_a_webhook_with_a_bad_signature_is_refused(payments_db):
    with pytest.raises(webhooks.InvalidWebhook):
        await webhooks.ingest_webhook(
            db=payments_db,
            payload='{"id": "evt_x", "type": "x", "data": {}}',
            signature="t=1,v1=00",
            secret=SECRET,
            tolerance_s=300,
        )
