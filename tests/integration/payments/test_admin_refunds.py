"""Refunds the operator asks for (rpc.payments.topup.refund.v1): created at Stripe, counted once however
the API's own record and Stripe's `charge.refunded` meet, and never more than the payment."""

import asyncio
import uuid

import pytest

from contracts.payments.v1 import PaymentRefunded, RefundTopup, TopupPaid
from runtime.messaging import ServiceError, request
from services.payments.app import build
from services.payments.stripe.client import StripeAdapter
from tests.support.stack import eventually, nats_client, running

from .conftest import payments_settings
from .helpers import create_topup, pay, published, topup, wait_status
from .stripe_gateway import forward


async def paid(nc, emulator, tenant_id: str, amount_cents: int = 10_000) -> TopupPaid:
    view = (await create_topup(nc, tenant_id, amount_cents)).topup
    await pay(emulator, view, payment_method="pm_card_visa")
    await wait_status(nc, tenant_id, view.id, "succeeded")
    [credit] = await published(nc.jetstream(), TopupPaid.subject, TopupPaid, topup_id=view.id)
    return credit


async def refund(nc, topup_id: str, amount_cents: int, key: str | None = None, reason: str = "goodwill"):
    req = RefundTopup(
        topup_id=topup_id, amount_cents=amount_cents, reason=reason, idempotency_key=key or uuid.uuid4().hex
    )
    return await request(nc, req, timeout=20)


async def refunds_recorded(nc, topup_id: str) -> list[PaymentRefunded]:
    return await published(nc.jetstream(), PaymentRefunded.subject, PaymentRefunded, topup_id=topup_id)


async def stripe_refunds(emulator, payment_intent_id: str) -> list[dict]:
    return (await asyncio.to_thread(emulator.get, f"/v1/refunds?payment_intent={payment_intent_id}&limit=100"))["data"]


async def test_a_refund_asked_for_and_its_webhook_delivered_twice_afterwards_count_once(
    payments, nc, stripe_gateway, stripe_emulator, tenant_id
):
    credit = await paid(nc, stripe_emulator, tenant_id)
    stripe_gateway.record_only = True

    reply = await refund(nc, credit.topup_id, 3_000)

    assert reply.created and reply.refund.status == "succeeded" and reply.refund.id.startswith("re_")
    delivery = await stripe_gateway.wait_for("charge.refunded", lambda d: d.object["id"] == credit.charge_id)
    for _ in range(2):
        await forward(nc, *stripe_gateway.signed(delivery))
    await asyncio.sleep(1.0)  # the webhook worker has had its chance
    [recorded] = await refunds_recorded(nc, credit.topup_id)
    assert (recorded.refund_id, recorded.amount_cents) == (reply.refund.id, 3_000)
    [at_stripe] = await stripe_refunds(stripe_emulator, credit.payment_intent_id)
    assert at_stripe["metadata"]["reason"] == "goodwill"


async def test_a_refund_whose_answer_was_lost_is_recorded_from_its_webhook_and_the_retry_finds_it(
    nats_url, database_url, new_schema, faulty_stripe, stripe_gateway, tenant_id
):
    impatient = StripeAdapter(
        api_key=faulty_stripe.api_key, api_base=faulty_stripe.base_url, timeout_s=1, max_network_retries=0
    )
    service = build(payments_settings(nats_url, database_url, new_schema("pay"), faulty_stripe), adapter=impatient)
    async with running(service), nats_client(nats_url) as nc:
        stripe_gateway.reset(nc)
        try:
            credit = await paid(nc, faulty_stripe, tenant_id)
            stripe_gateway.record_only = True
            faulty_stripe.inject_faults(answer_delay_s=2.5, for_s=3, path_prefix="/v1/refunds", method="POST")
            key = uuid.uuid4().hex

            with pytest.raises(ServiceError) as lost:  # Stripe makes the refund; its answer comes too late
                await refund(nc, credit.topup_id, 10_000, key)
            assert lost.value.code == "unavailable"
            delivery = await stripe_gateway.wait_for(
                "charge.refunded", lambda d: d.object["id"] == credit.charge_id, timeout_s=15
            )
            for _ in range(2):  # before the API's own record, twice
                await forward(nc, *stripe_gateway.signed(delivery))
            [recorded] = await eventually(lambda: refunds_recorded(nc, credit.topup_id), timeout=15)
            faulty_stripe.clear_faults()

            retried = await refund(nc, credit.topup_id, 10_000, key)
            again = await refund(nc, credit.topup_id, 10_000, key)

            assert retried.created and (retried.refund.id, retried.refund.status) == (recorded.refund_id, "succeeded")
            assert not again.created and again.refund == retried.refund
            await forward(nc, *stripe_gateway.signed(delivery))  # and after it
            await asyncio.sleep(1.0)
            assert len(await refunds_recorded(nc, credit.topup_id)) == 1
            assert len(await stripe_refunds(faulty_stripe, credit.payment_intent_id)) == 1
            assert (await topup(nc, tenant_id, credit.topup_id)).status == "refunded"
        finally:
            stripe_gateway.reset(None)


async def test_the_same_refund_asked_for_ten_times_at_once_refunds_once(
    payments, nc, stripe_gateway, stripe_emulator, tenant_id
):
    credit = await paid(nc, stripe_emulator, tenant_id)
    key = uuid.uuid4().hex

    replies = await asyncio.gather(*[refund(nc, credit.topup_id, 2_500, key) for _ in range(10)])

    assert sum(r.created for r in replies) == 1 and len({r.refund.id for r in replies}) == 1
    assert len(await stripe_refunds(stripe_emulator, credit.payment_intent_id)) == 1
    await stripe_gateway.wait_for("charge.refunded", lambda d: d.object["id"] == credit.charge_id)
    await asyncio.sleep(1.0)
    assert [r.amount_cents for r in await refunds_recorded(nc, credit.topup_id)] == [2_500]


async def test_two_refunds_that_together_exceed_the_payment_one_is_refused(
    payments, nc, stripe_gateway, stripe_emulator, tenant_id
):
    credit = await paid(nc, stripe_emulator, tenant_id)

    outcomes = await asyncio.gather(*[refund(nc, credit.topup_id, 6_000) for _ in range(2)], return_exceptions=True)

    refused = [o for o in outcomes if isinstance(o, ServiceError)]
    assert [o.code for o in refused] == ["conflict"], outcomes
    assert "remain refundable" in refused[0].message  # refused by our own count, before Stripe was asked
    assert len(await stripe_refunds(stripe_emulator, credit.payment_intent_id)) == 1


async def test_a_refund_stripe_has_not_settled_yet_holds_its_amount(
    payments, nc, stripe_gateway, faulty_stripe, tenant_id
):
    credit = await paid(nc, faulty_stripe, tenant_id)
    faulty_stripe.pending_refunds(True)
    key = uuid.uuid4().hex

    first = await refund(nc, credit.topup_id, 7_000, key)
    with pytest.raises(ServiceError) as refused:
        await refund(nc, credit.topup_id, 4_000)

    assert first.refund.status == "pending" and refused.value.code == "conflict"
    assert "remain refundable" in refused.value.message  # held by our count, not only refused by Stripe
    faulty_stripe.settle_refund(first.refund.id)
    faulty_stripe.pending_refunds(False)

    async def settled():
        reply = await refund(nc, credit.topup_id, 7_000, key)
        return reply if reply.refund.status == "succeeded" else None

    replay = await eventually(settled, timeout=15)
    assert replay.refund.id == first.refund.id and not replay.created
    with pytest.raises(ServiceError) as too_much:
        await refund(nc, credit.topup_id, 3_001)
    assert too_much.value.code == "conflict"
    assert (await refund(nc, credit.topup_id, 3_000)).created
    assert sorted(r.amount_cents for r in await refunds_recorded(nc, credit.topup_id)) == [3_000, 7_000]


@pytest.mark.parametrize("case", ["unknown", "unpaid", "zero", "other_body"])
async def test_refusals(payments, nc, stripe_gateway, stripe_emulator, tenant_id, case):
    if case == "unknown":
        expected, call = "not_found", refund(nc, "top_unknown", 1_000)
    elif case == "unpaid":
        view = (await create_topup(nc, tenant_id, 10_000)).topup
        expected, call = "conflict", refund(nc, view.id, 1_000)
    elif case == "zero":
        credit = await paid(nc, stripe_emulator, tenant_id)
        expected, call = "validation_error", refund(nc, credit.topup_id, 0)
    else:
        credit = await paid(nc, stripe_emulator, tenant_id)
        key = uuid.uuid4().hex
        await refund(nc, credit.topup_id, 1_000, key)
        expected, call = "idempotency_conflict", refund(nc, credit.topup_id, 1_500, key)

    with pytest.raises(ServiceError) as refused:
        await call

    assert refused.value.code == expected
    if case == "unpaid":
        assert (await topup(nc, tenant_id, view.id)).status == "pending"
