"""No auto top-up hangs: a charge in flight past AUTOTOPUP_INFLIGHT_TIMEOUT_S is looked up at Stripe
through payments and settled as it really is — real billing, real payments, the Stripe emulator."""

import asyncio

import pytest

from tests.integration.billing.autotopup_support import enable_when_card_known, view
from tests.support.stack import billing, eventually, publish_usage, running

from .helpers import customer_of, intents_of
from .test_auto_topup_charges import saved_card

CHECKED_AFTER = {
    "autotopup_monitor_s": 0.2,
    "autotopup_inflight_timeout_s": 1.0,
    "autotopup_cooldown_s": 0,
    "autotopup_retry_s": "3600,3600",
}  # no second charge of its own during a test


@pytest.fixture
async def billing_service(nats_url, database_url, new_schema, payments):
    async with running(billing(nats_url, database_url, new_schema("bil"), **CHECKED_AFTER)) as service:
        yield service


async def below_threshold(nc, tenant_id: str, emulator) -> None:
    """A saved card, auto top-up on (threshold 10 €, 50 € a charge), then usage taking the balance to −30 €."""
    await saved_card(nc, tenant_id, emulator)
    await enable_when_card_known(nc, tenant_id, threshold=1000, amount=5000)
    await publish_usage(nc.jetstream(), usage_id=f"{tenant_id}-u", tenant_id=tenant_id, amount_cents=3000)


async def test_a_charge_processing_past_its_deadline_whose_failure_webhook_is_lost_is_settled_by_the_check(
    billing_service, payments, nc, faulty_stripe, tenant_id
):
    faulty_stripe.processing_charges(True)
    faulty_stripe.inject_faults(drop_webhooks=1.0)  # whatever Stripe says later, no webhook tells us
    await below_threshold(nc, tenant_id, faulty_stripe)
    customer = await eventually(lambda: customer_of(payments, tenant_id))
    [intent] = await eventually(lambda: intents_of(faulty_stripe, customer), timeout=15)
    await asyncio.sleep(2.5)  # past the deadline: checked, still processing at Stripe — still in flight
    assert (await view(nc, tenant_id)).state == "in_flight"

    await asyncio.to_thread(faulty_stripe.fail_processing, intent["id"])

    rule = await eventually(lambda: _settled(nc, tenant_id), timeout=15)
    assert (rule.state, rule.consecutive_failures) == ("idle", 1)
    assert len(await intents_of(faulty_stripe, customer)) == 1


async def test_a_charge_that_never_reached_stripe_fails_without_ever_charging(
    billing_service, payments, nc, faulty_stripe, tenant_id
):
    faulty_stripe.inject_faults(api_status=500, for_s=600, path_prefix="/v1/payment_intents", method="POST")
    await below_threshold(nc, tenant_id, faulty_stripe)

    rule = await eventually(lambda: _settled(nc, tenant_id), timeout=20)
    assert (rule.state, rule.consecutive_failures) == ("idle", 1)
    faulty_stripe.clear_faults()
    await asyncio.sleep(6)  # the charge command, still retried, comes back once more: it finds the attempt decided
    customer = await customer_of(payments, tenant_id)
    assert await intents_of(faulty_stripe, customer) == []


async def _settled(nc, tenant_id: str):
    rule = await view(nc, tenant_id)
    return rule if rule.state != "in_flight" else None
