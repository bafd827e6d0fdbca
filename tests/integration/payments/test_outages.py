"""Stripe failing, refunds settling late, charges that stay `processing`: payments heals by itself."""

import asyncio
import uuid

import sqlalchemy as sa

from contracts.payments.v1 import PaymentRefunded, TopupFailed
from services.payments.app import build
from services.payments.tables import StripeEvent
from tests.support.stack import eventually, nats_client, running

from .conftest import payments_settings
from .helpers import create_topup, customer_of, intents_of, pay, published, wait_status
from .test_auto_topup_charges import outcome, request_charge, saved_card


async def paid_topup(service, nc, emulator, tenant_id: str, amount_cents: int = 10_000) -> str:
    """A Checkout top-up paid at Stripe and settled by payments; answers its PaymentIntent's id."""
    view = (await create_topup(nc, tenant_id, amount_cents)).topup
    await pay(emulator, view, payment_method="pm_card_visa")
    await wait_status(nc, tenant_id, view.id, "succeeded")
    [intent] = await intents_of(emulator, await customer_of(service, tenant_id))
    return intent["id"]


async def test_a_refund_whose_stripe_lookups_fail_longer_than_the_old_budget_is_recorded_once_stripe_answers(
    nats_url, database_url, new_schema, faulty_stripe, stripe_gateway, stripe, tenant_id
):
    # Two attempts used to park an event for good (eight by default, about five minutes of backoff).
    service = build(
        payments_settings(
            nats_url, database_url, new_schema("pay"), faulty_stripe, webhook_max_attempts=2, webhook_retry_max_s=1.0
        )
    )
    async with running(service), nats_client(nats_url) as nc:
        stripe_gateway.reset(nc)
        try:
            intent_id = await paid_topup(service, nc, faulty_stripe, tenant_id)
            faulty_stripe.inject_faults(api_status=500, for_s=8, path_prefix="/v1/charges")
            refund = await stripe.refund(
                payment_intent_id=intent_id, idempotency_key=uuid.uuid4().hex, amount_cents=3_000
            )

            refunded = await eventually(
                lambda: published(nc.jetstream(), PaymentRefunded.subject, PaymentRefunded, refund_id=refund["id"]),
                timeout=30,
            )
            assert [r.amount_cents for r in refunded] == [3_000]
            async with service.db.sessions() as session:
                attempts = (
                    (
                        await session.execute(
                            sa.select(StripeEvent.attempts).where(
                                StripeEvent.type == "charge.refunded", StripeEvent.processed_at.is_not(None)
                            )
                        )
                    )
                    .scalars()
                    .all()
                )
            assert max(attempts) > 2  # retried past the budget for unexpected errors
        finally:
            stripe_gateway.reset(None)


async def test_a_refund_pending_at_stripe_is_recorded_once_it_succeeds(payments, nc, faulty_stripe, stripe, tenant_id):
    intent_id = await paid_topup(payments, nc, faulty_stripe, tenant_id)
    faulty_stripe.pending_refunds(True)
    refund = await stripe.refund(payment_intent_id=intent_id, idempotency_key=uuid.uuid4().hex, amount_cents=2_500)
    assert refund["status"] == "pending"
    await asyncio.sleep(1.0)  # charge.refunded came and went: nothing to record yet
    js = nc.jetstream()
    assert await published(js, PaymentRefunded.subject, PaymentRefunded, refund_id=refund["id"]) == []

    faulty_stripe.settle_refund(refund["id"])  # charge.refund.updated and refund.updated

    await eventually(
        lambda: published(js, PaymentRefunded.subject, PaymentRefunded, refund_id=refund["id"]), timeout=15
    )
    await asyncio.sleep(0.5)
    assert len(await published(js, PaymentRefunded.subject, PaymentRefunded, refund_id=refund["id"])) == 1


async def test_an_off_session_charge_that_went_processing_and_then_failed_is_settled(
    payments, nc, faulty_stripe, tenant_id
):
    await saved_card(nc, tenant_id, faulty_stripe)
    faulty_stripe.processing_charges(True)
    trigger = f"trg_{uuid.uuid4().hex}"
    js = nc.jetstream()
    await request_charge(js, tenant_id, trigger)
    customer = await eventually(lambda: customer_of(payments, tenant_id))
    [intent] = await eventually(lambda: intents_of(faulty_stripe, customer), timeout=15)
    assert intent["status"] == "processing"
    await asyncio.sleep(0.5)
    assert await published(js, TopupFailed.subject, TopupFailed, trigger_id=trigger) == []

    await asyncio.to_thread(faulty_stripe.fail_processing, intent["id"])  # the bank refuses it later

    [failed] = await outcome(js, TopupFailed.subject, TopupFailed, trigger)
    assert (failed.source, failed.reason_code) == ("auto", "card_declined")
