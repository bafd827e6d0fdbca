import asyncio
import json

import pytest

from contracts.payments.v1 import PaymentRefunded, TopupExpired, TopupFailed, TopupPaid
from runtime.messaging import ServiceError
from services.payments.app import build
from services.payments.tables import StripeEvent
from tests.support.stack import eventually, running

from .helpers import create_topup, pay, published, topup, wait_status
from .stripe_gateway import forward


async def recorded_payment(gateway, emulator, nc, tenant_id, amount_cents=10000):
    """A top-up paid at Stripe whose webhooks were received but not yet handed to payments."""
    gateway.record_only = True
    view = (await create_topup(nc, tenant_id, amount_cents)).topup
    await pay(emulator, view, payment_method="pm_card_visa")
    await gateway.wait_for("checkout.session.completed", lambda d: d.object["metadata"].get("topup_id") == view.id)
    ours = gateway.matching(lambda d: (d.object.get("metadata") or {}).get("topup_id") == view.id)
    return view, ours


async def test_duplicate_webhooks_ten_times_concurrently_credit_once(
    payments, nc, stripe_gateway, stripe_emulator, tenant_id
):
    view, deliveries = await recorded_payment(stripe_gateway, stripe_emulator, nc, tenant_id)

    replies = await asyncio.gather(*[forward(nc, *stripe_gateway.signed(d)) for d in deliveries for _ in range(10)])

    assert sum(not r.duplicate for r in replies) == len(deliveries) and all(r.accepted for r in replies)
    await wait_status(nc, tenant_id, view.id, "succeeded")
    await asyncio.sleep(0.3)
    assert len(await published(nc.jetstream(), TopupPaid.subject, TopupPaid, topup_id=view.id)) == 1


@pytest.mark.parametrize("first", ["payment_intent.succeeded", "checkout.session.completed"])
async def test_events_in_any_order_credit_once(payments, nc, stripe_gateway, stripe_emulator, tenant_id, first):
    view, deliveries = await recorded_payment(stripe_gateway, stripe_emulator, nc, tenant_id)
    ordered = sorted(deliveries, key=lambda d: d.type != first)

    for delivery in ordered:
        await forward(nc, *stripe_gateway.signed(delivery))

    await wait_status(nc, tenant_id, view.id, "succeeded")
    await asyncio.sleep(0.3)
    assert len(await published(nc.jetstream(), TopupPaid.subject, TopupPaid, topup_id=view.id)) == 1


async def test_stale_event_data_is_read_again_from_stripe(payments, nc, stripe_gateway, stripe_emulator, tenant_id):
    view, deliveries = await recorded_payment(stripe_gateway, stripe_emulator, nc, tenant_id)
    completed = next(d for d in deliveries if d.type == "checkout.session.completed")
    stale = json.loads(completed.payload)
    stale.update(id=stale["id"] + "_stale", type="checkout.session.expired")
    stale["data"]["object"].update(status="expired", payment_status="unpaid")
    body = json.dumps(stale).encode()

    await forward(nc, *stripe_gateway.signed(completed.__class__(body, "", stale)))
    for delivery in deliveries:
        await forward(nc, *stripe_gateway.signed(delivery))

    await wait_status(nc, tenant_id, view.id, "succeeded")
    await asyncio.sleep(0.3)
    assert await published(nc.jetstream(), TopupExpired.subject, TopupExpired, topup_id=view.id) == []


@pytest.mark.parametrize("tamper", ["other_secret", "stale_timestamp", "changed_body"])
async def test_forged_or_stale_webhook_is_refused_and_changes_nothing(
    payments, nc, stripe_gateway, stripe_emulator, tenant_id, tamper
):
    view, deliveries = await recorded_payment(stripe_gateway, stripe_emulator, nc, tenant_id)
    succeeded = next(d for d in deliveries if d.type == "payment_intent.succeeded")
    payload, signature = stripe_gateway.signed(
        succeeded,
        secret="whsec_forged" if tamper == "other_secret" else None,
        age_s=301 if tamper == "stale_timestamp" else 0,
    )
    if tamper == "changed_body":
        payload = payload.replace('"amount": 10000', '"amount": 99999')

    with pytest.raises(ServiceError) as refused:
        await forward(nc, payload, signature)

    assert refused.value.code == "validation_error"
    await asyncio.sleep(0.5)
    assert (await topup(nc, tenant_id, view.id)).status == "pending"
    reply = await forward(nc, *stripe_gateway.signed(succeeded))  # the genuine event was not stored
    assert not reply.duplicate
    await wait_status(nc, tenant_id, view.id, "succeeded")


async def test_refunds_publish_payment_refunded_once_each(
    payments, nc, stripe, stripe_emulator, stripe_gateway, tenant_id
):
    view = (await create_topup(nc, tenant_id, 10000)).topup
    await pay(stripe_emulator, view, payment_method="pm_card_visa")
    await wait_status(nc, tenant_id, view.id, "succeeded")
    [paid] = await published(nc.jetstream(), TopupPaid.subject, TopupPaid, topup_id=view.id)

    await stripe.refund(payment_intent_id=paid.payment_intent_id, amount_cents=3000, idempotency_key=f"r1-{view.id}")
    await stripe_gateway.wait_for("charge.refunded", lambda d: d.object["payment_intent"] == paid.payment_intent_id)
    await stripe.refund(payment_intent_id=paid.payment_intent_id, amount_cents=7000, idempotency_key=f"r2-{view.id}")

    await wait_status(nc, tenant_id, view.id, "refunded")
    for delivery in stripe_gateway.matching(lambda d: d.type == "charge.refunded"):
        await forward(nc, *stripe_gateway.signed(delivery))  # redelivered: nothing new
    await asyncio.sleep(0.5)
    refunds = await published(nc.jetstream(), PaymentRefunded.subject, PaymentRefunded, topup_id=view.id)
    assert sorted((r.amount_cents, r.topup_amount_cents) for r in refunds) == [(3000, 10000), (7000, 10000)]
    assert len({r.refund_id for r in refunds}) == 2


async def test_event_about_an_unknown_payment_is_accepted_and_ignored(
    payments, nc, stripe_gateway, stripe_emulator, tenant_id
):
    _, deliveries = await recorded_payment(stripe_gateway, stripe_emulator, nc, tenant_id)
    succeeded = next(d for d in deliveries if d.type == "payment_intent.succeeded")
    foreign = json.loads(succeeded.payload)
    foreign["id"] += "_foreign"
    foreign["data"]["object"].update(id="pi_unknown_elsewhere", metadata={"topup_id": "top_unknown"})

    reply = await forward(nc, *stripe_gateway.signed(succeeded.__class__(json.dumps(foreign).encode(), "", foreign)))

    assert reply.accepted and not reply.duplicate

    async def processed():
        async with payments.db.sessions() as session:
            return (await session.get(StripeEvent, foreign["id"])).processed_at

    await eventually(processed)


async def test_two_replicas_given_the_same_events_credit_once(payments, nc, stripe_gateway, stripe_emulator, tenant_id):
    settings = payments.settings.model_copy()
    async with running(build(settings)):  # a second replica on the same schema and queue group
        view, deliveries = await recorded_payment(stripe_gateway, stripe_emulator, nc, tenant_id)

        await asyncio.gather(*[forward(nc, *stripe_gateway.signed(d)) for d in deliveries for _ in range(10)])

        await wait_status(nc, tenant_id, view.id, "succeeded")
        await asyncio.sleep(0.5)
    assert len(await published(nc.jetstream(), TopupPaid.subject, TopupPaid, topup_id=view.id)) == 1


async def test_payment_failed_racing_succeeded_on_two_replicas_ends_succeeded_and_tells_no_failure(
    payments, nc, stripe_gateway, stripe_emulator, tenant_id
):
    """A `payment_intent.payment_failed` (an earlier decline of the same PaymentIntent, delivered late)
    processed at the same time as `succeeded`: each worker locks the top-up row before reading its
    status, so whichever runs second sees the other's outcome; Stripe's answer is `succeeded`."""
    settings = payments.settings.model_copy()
    async with running(build(settings)):
        view, deliveries = await recorded_payment(stripe_gateway, stripe_emulator, nc, tenant_id)
        succeeded = next(d for d in deliveries if d.type == "payment_intent.succeeded")
        failed = json.loads(succeeded.payload)
        failed.update(id=failed["id"] + "_declined", type="payment_intent.payment_failed")
        failed["data"]["object"].update(
            status="requires_payment_method", last_payment_error={"code": "card_declined", "message": "declined"}
        )
        declined = succeeded.__class__(json.dumps(failed).encode(), "", failed)

        await asyncio.gather(*[forward(nc, *stripe_gateway.signed(d)) for _ in range(5) for d in (declined, succeeded)])

        await wait_status(nc, tenant_id, view.id, "succeeded")
        await asyncio.sleep(0.5)
        assert (await topup(nc, tenant_id, view.id)).status == "succeeded"
    js = nc.jetstream()
    assert len(await published(js, TopupPaid.subject, TopupPaid, topup_id=view.id)) == 1
    assert await published(js, TopupFailed.subject, TopupFailed, topup_id=view.id) == []
