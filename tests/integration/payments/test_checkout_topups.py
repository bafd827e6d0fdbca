import asyncio
import uuid

import pytest

from contracts.payments.v1 import ListPaymentMethods, PaymentMethodChanged, TopupFailed, TopupPaid
from contracts.portal.v1 import PortalEvent
from devtools.stripe_emulator import EmulatorError
from runtime.messaging import ServiceError, request

from .helpers import (
    create_topup,
    customer_of,
    pay,
    published,
    sessions_of,
    topup,
    wait_status,
)


async def test_paid_checkout_topup_publishes_exactly_one_topup_paid(payments, nc, stripe_emulator, tenant_id):
    reply = await create_topup(nc, tenant_id, amount_cents=25000)
    view = reply.topup
    assert reply.created and view.status == "pending" and view.bonus_cents == 2500
    assert view.checkout_url and view.checkout_url.startswith(stripe_emulator.base_url)

    await pay(stripe_emulator, view, payment_method="pm_card_visa")

    assert (await wait_status(nc, tenant_id, view.id, "succeeded")).checkout_url is None
    js = nc.jetstream()
    paid = await published(js, TopupPaid.subject, TopupPaid, topup_id=view.id)
    assert [(p.amount_cents, p.source, p.tenant_id) for p in paid] == [(25000, "checkout", tenant_id)]
    assert paid[0].payment_intent_id.startswith("pi_") and paid[0].charge_id


async def test_checkout_saves_the_card_as_default(payments, nc, stripe_emulator, tenant_id):
    view = (await create_topup(nc, tenant_id)).topup
    await pay(stripe_emulator, view, payment_method="pm_card_visa")
    await wait_status(nc, tenant_id, view.id, "succeeded")

    async def saved():
        return (await request(nc, ListPaymentMethods(tenant_id=tenant_id))).items

    cards = await _eventually(saved)
    assert [(c.brand, c.last4, c.is_default) for c in cards] == [("visa", "4242", True)]
    changes = await published(nc.jetstream(), PaymentMethodChanged.subject, PaymentMethodChanged, tenant_id=tenant_id)
    assert [(c.change, c.default_payment_method_id) for c in changes] == [("attached", cards[0].id)]


async def test_concurrent_requests_with_one_key_make_one_topup_and_one_session(
    payments, nc, stripe_emulator, tenant_id
):
    key = uuid.uuid4().hex
    replies = await asyncio.gather(*[create_topup(nc, tenant_id, 5000, key=key) for _ in range(10)])

    assert len({r.topup.id for r in replies}) == 1
    assert len({r.topup.checkout_url for r in replies}) == 1
    assert sum(r.created for r in replies) == 1
    assert len(await sessions_of(stripe_emulator, await customer_of(payments, tenant_id))) == 1


async def test_same_key_again_answers_the_same_topup(payments, nc, tenant_id):
    first = await create_topup(nc, tenant_id, 5000, key="k-1")
    again = await create_topup(nc, tenant_id, 5000, key="k-1")

    assert again.topup == first.topup and first.created and not again.created


async def test_same_key_with_another_amount_is_an_idempotency_conflict(payments, nc, tenant_id):
    await create_topup(nc, tenant_id, 5000, key="k-2")

    with pytest.raises(ServiceError) as refused:
        await create_topup(nc, tenant_id, 6000, key="k-2")

    assert refused.value.code == "idempotency_conflict"


@pytest.mark.parametrize("amount", [999, 1_000_001, 0, -5000])
async def test_amount_outside_the_limits_is_refused(payments, nc, tenant_id, amount):
    with pytest.raises(ServiceError) as refused:
        await create_topup(nc, tenant_id, amount)

    assert refused.value.code == "validation_error"


async def test_declined_card_fails_the_topup_and_tells_the_customer(payments, nc, stripe_emulator, tenant_id):
    view = (await create_topup(nc, tenant_id, 5000)).topup

    with pytest.raises(EmulatorError):
        await pay(stripe_emulator, view, card_number="4000000000009995")

    failed = await wait_status(nc, tenant_id, view.id, "failed")
    assert failed.failure_reason == "Your card has insufficient funds."
    js = nc.jetstream()
    [event] = await published(js, TopupFailed.subject, TopupFailed, topup_id=view.id)
    assert (event.reason_code, event.source) == ("card_declined", "checkout")
    [portal] = await published(js, "portal.topup.failed.v1", PortalEvent, tenant_id=tenant_id)
    assert portal.data == {"topup_id": view.id, "amount_cents": 5000, "reason": failed.failure_reason}


async def test_paying_after_a_declined_attempt_still_credits(payments, nc, stripe_emulator, tenant_id):
    view = (await create_topup(nc, tenant_id, 5000)).topup
    with pytest.raises(EmulatorError):
        await pay(stripe_emulator, view, card_number="4000000000000002")
    await wait_status(nc, tenant_id, view.id, "failed")

    await pay(stripe_emulator, view, payment_method="pm_card_visa")

    await wait_status(nc, tenant_id, view.id, "succeeded")
    assert len(await published(nc.jetstream(), TopupPaid.subject, TopupPaid, topup_id=view.id)) == 1


async def test_expired_checkout_expires_the_topup(payments, nc, stripe_emulator, tenant_id):
    view = (await create_topup(nc, tenant_id, 5000)).topup

    await asyncio.to_thread(stripe_emulator.expire_checkout_session, view.checkout_url.rsplit("/", 1)[-1])

    expired = await wait_status(nc, tenant_id, view.id, "expired")
    assert expired.checkout_url is None


async def test_another_tenants_topup_is_not_found(payments, nc, tenant_id):
    view = (await create_topup(nc, tenant_id, 5000)).topup

    with pytest.raises(ServiceError) as refused:
        await topup(nc, f"{tenant_id}-other", view.id)

    assert refused.value.code == "not_found"


async def _eventually(check, timeout=10):
    from tests.support.stack import eventually

    return await eventually(check, timeout=timeout)
