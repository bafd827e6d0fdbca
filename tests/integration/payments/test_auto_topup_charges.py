import asyncio
import uuid

from contracts.billing.v1 import AutoTopupRequested
from contracts.payments.v1 import AttachPaymentMethod, TopupFailed, TopupPaid
from runtime.messaging import request
from services.payments import autotopup
from services.payments.checkout_topups import stripe_key
from tests.support.stack import eventually

from .helpers import customer_of, intents_of, published


async def saved_card(nc, tenant_id, emulator, number="4242424242424242") -> str:
    pm = await asyncio.to_thread(emulator.create_card, number)
    reply = await request(nc, AttachPaymentMethod(tenant_id=tenant_id, payment_method_id=pm), timeout=15)
    return reply.item.id


async def request_charge(js, tenant_id, trigger_id, amount_cents=5000, copies=1) -> AutoTopupRequested:
    """Publish the command `copies` times with distinct message ids: JetStream does not de-duplicate them."""
    first = None
    for _ in range(copies):
        command = AutoTopupRequested(tenant_id=tenant_id, trigger_id=trigger_id, amount_cents=amount_cents)
        await js.publish(command.subject, command.model_dump_json().encode(), headers={"Nats-Msg-Id": command.event_id})
        first = first or command
    return first


async def outcome(js, subject, model, trigger_id):
    return await eventually(lambda: published(js, subject, model, trigger_id=trigger_id), timeout=15)


async def test_redelivered_charge_command_charges_once(payments, nc, stripe_emulator, tenant_id):
    await saved_card(nc, tenant_id, stripe_emulator)
    trigger = f"trg_{uuid.uuid4().hex}"
    js = nc.jetstream()

    await request_charge(js, tenant_id, trigger, copies=5)

    [paid] = await outcome(js, TopupPaid.subject, TopupPaid, trigger)
    await asyncio.sleep(1.0)
    assert (paid.source, paid.amount_cents, paid.tenant_id) == ("auto", 5000, tenant_id)
    assert len(await published(js, TopupPaid.subject, TopupPaid, trigger_id=trigger)) == 1
    intents = await intents_of(stripe_emulator, await customer_of(payments, tenant_id))
    assert [i["id"] for i in intents] == [paid.payment_intent_id]


async def test_declined_charge_fails_with_stripes_code(payments, nc, stripe_emulator, tenant_id):
    await saved_card(nc, tenant_id, stripe_emulator, "4000000000000341")
    trigger = f"trg_{uuid.uuid4().hex}"
    js = nc.jetstream()

    await request_charge(js, tenant_id, trigger)

    [failed] = await outcome(js, TopupFailed.subject, TopupFailed, trigger)
    assert (failed.source, failed.reason_code, failed.action_url) == ("auto", "card_declined", None)
    assert failed.reason == "Your card was declined."


async def test_charge_needing_authentication_fails_with_a_payment_link(payments, nc, stripe_emulator, tenant_id):
    await saved_card(nc, tenant_id, stripe_emulator, "4000002760003184")
    trigger = f"trg_{uuid.uuid4().hex}"
    js = nc.jetstream()

    await asyncio.wait_for(request_charge(js, tenant_id, trigger), 5)

    [failed] = await outcome(js, TopupFailed.subject, TopupFailed, trigger)
    assert failed.reason_code == "authentication_required" and failed.action_url
    session = failed.action_url.rsplit("/", 1)[-1]
    await asyncio.to_thread(stripe_emulator.pay_checkout_session, session, payment_method="pm_card_visa")
    [paid] = await outcome(js, TopupPaid.subject, TopupPaid, trigger)
    assert (paid.topup_id, paid.source, paid.amount_cents) == (failed.topup_id, "auto", 5000)


async def test_charge_without_a_saved_card_fails_at_once(payments, nc, tenant_id):
    trigger = f"trg_{uuid.uuid4().hex}"
    js = nc.jetstream()

    await request_charge(js, tenant_id, trigger)

    [failed] = await outcome(js, TopupFailed.subject, TopupFailed, trigger)
    assert failed.reason_code == "no_payment_method"


async def test_crash_after_the_charge_reuses_the_same_payment_intent(
    payments, nc, stripe, stripe_emulator, stripe_gateway, tenant_id
):
    await saved_card(nc, tenant_id, stripe_emulator)
    stripe_gateway.record_only = True  # only the command path may settle this charge
    trigger = f"trg_{uuid.uuid4().hex}"
    command = AutoTopupRequested(tenant_id=tenant_id, trigger_id=trigger, amount_cents=7000)
    customer = await customer_of(payments, tenant_id)
    # The process that crashed: it recorded the attempt and charged, but never recorded the result.
    attempt = await autotopup.record_attempt(db=payments.db, request=command, tiers=())
    charged = await autotopup._charge(stripe, attempt, customer)

    js = nc.jetstream()
    await js.publish(command.subject, command.model_dump_json().encode(), headers={"Nats-Msg-Id": command.event_id})

    [paid] = await outcome(js, TopupPaid.subject, TopupPaid, trigger)
    assert paid.payment_intent_id == charged.payment_intent_id and paid.topup_id == attempt.id
    assert [i["id"] for i in await intents_of(stripe_emulator, customer)] == [charged.payment_intent_id]
    assert stripe_key("autotopup", tenant_id, trigger) != stripe_key("autotopup", tenant_id + "x", trigger)
