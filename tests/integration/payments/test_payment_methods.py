import asyncio

import pytest

from contracts.payments.v1 import (
    AttachPaymentMethod,
    CreateSetupIntent,
    DetachPaymentMethod,
    ListPaymentMethods,
    PaymentMethodChanged,
    SetDefaultPaymentMethod,
)
from runtime.messaging import ServiceError, request
from tests.support.stack import eventually

from .helpers import published


async def attach(nc, tenant_id, emulator, number="4242424242424242", make_default=False):
    pm = await asyncio.to_thread(emulator.create_card, number)
    reply = await request(
        nc, AttachPaymentMethod(tenant_id=tenant_id, payment_method_id=pm, make_default=make_default), timeout=15
    )
    return reply.item


async def cards(nc, tenant_id):
    return (await request(nc, ListPaymentMethods(tenant_id=tenant_id))).items


async def test_first_card_becomes_default_and_the_customer_can_change_it(payments, nc, stripe_emulator, tenant_id):
    visa = await attach(nc, tenant_id, stripe_emulator)
    master = await attach(nc, tenant_id, stripe_emulator, "5555555555554444")
    assert (visa.brand, visa.last4, visa.exp_month, visa.exp_year, visa.is_default) == ("visa", "4242", 12, 2034, True)
    assert (master.brand, master.is_default) == ("mastercard", False)

    await request(nc, SetDefaultPaymentMethod(tenant_id=tenant_id, payment_method_id=master.id), timeout=15)

    assert {c.id: c.is_default for c in await cards(nc, tenant_id)} == {visa.id: False, master.id: True}
    await asyncio.sleep(0.3)
    changes = await published(nc.jetstream(), PaymentMethodChanged.subject, PaymentMethodChanged, tenant_id=tenant_id)
    assert [(c.change, c.default_payment_method_id) for c in changes] == [
        ("attached", visa.id),
        ("attached", visa.id),
        ("default_changed", master.id),
    ]


async def test_removing_the_default_card_leaves_no_default(payments, nc, stripe_emulator, tenant_id):
    visa = await attach(nc, tenant_id, stripe_emulator)
    other = await attach(nc, tenant_id, stripe_emulator, "5555555555554444")

    await request(nc, DetachPaymentMethod(tenant_id=tenant_id, payment_method_id=visa.id), timeout=15)

    assert [(c.id, c.is_default) for c in await cards(nc, tenant_id)] == [(other.id, False)]
    assert (await asyncio.to_thread(stripe_emulator.get, f"/v1/payment_methods/{visa.id}"))["customer"] is None
    await asyncio.sleep(0.5)  # the payment_method.detached webhook changes nothing more
    changes = await published(nc.jetstream(), PaymentMethodChanged.subject, PaymentMethodChanged, tenant_id=tenant_id)
    assert [(c.change, c.default_payment_method_id) for c in changes][-1] == ("detached", None)
    assert len(changes) == 3


async def test_a_tenant_cannot_touch_another_tenants_card(payments, nc, stripe_emulator, tenant_id):
    card = await attach(nc, tenant_id, stripe_emulator)
    intruder = f"{tenant_id}-intruder"

    for req in (
        SetDefaultPaymentMethod(tenant_id=intruder, payment_method_id=card.id),
        DetachPaymentMethod(tenant_id=intruder, payment_method_id=card.id),
        AttachPaymentMethod(tenant_id=intruder, payment_method_id=card.id),
    ):
        with pytest.raises(ServiceError) as refused:
            await request(nc, req, timeout=15)
        assert refused.value.code == "not_found"
    assert [c.id for c in await cards(nc, tenant_id)] == [card.id]
    assert await cards(nc, intruder) == []


async def test_declined_card_is_not_saved(payments, nc, stripe_emulator, tenant_id):
    with pytest.raises(ServiceError) as refused:
        await attach(nc, tenant_id, stripe_emulator, "4000000000000002")

    assert refused.value.code == "validation_error" and "declined" in refused.value.message
    assert await cards(nc, tenant_id) == []


async def test_card_confirmed_through_a_setup_intent_is_saved(payments, nc, stripe_emulator, tenant_id):
    intent = await request(nc, CreateSetupIntent(tenant_id=tenant_id), timeout=15)
    assert intent.setup_intent_id.startswith("seti_") and intent.client_secret
    pm = await asyncio.to_thread(stripe_emulator.create_card, "4000002760000016")

    await asyncio.to_thread(
        stripe_emulator._post, f"/v1/setup_intents/{intent.setup_intent_id}/confirm", {"payment_method": pm}
    )

    saved = await eventually(lambda: cards(nc, tenant_id))
    assert [(c.id, c.last4, c.is_default) for c in saved] == [(pm, "0016", True)]
