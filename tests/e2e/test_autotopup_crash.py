"""Payments is killed after Stripe made the auto top-up charge and before payments heard the answer:
after a restart there is no second charge (same idempotency key), and the payment is recorded."""

import asyncio
import json

from runtime.consumers import ACK_WAIT_S  # the charge command comes back to payments after it
from runtime.db import Database
from services.payments import repository
from tests.support.stack import SseReader, create_tenant

from .crash_support import HoldingProxy, PaymentsProcess
from .support import (
    FAST_AUTOTOPUP,
    WEBHOOK_SECRET,
    autotopup,
    balance,
    enable_autotopup,
    intents_of,
    open_stack,
    save_card,
    wait_balance,
)


async def test_killed_between_charge_and_record_charges_once_after_restart(
    nats_url, database_url, new_schema, e2e_stripe, tmp_path
):
    schema = new_schema("pay")
    async with (
        HoldingProxy(e2e_stripe.base_url) as proxy,
        open_stack(
            nats_url=nats_url,
            database_url=database_url,
            new_schema=new_schema,
            emulator=e2e_stripe,
            tmp_path=tmp_path,
            billing_overrides=FAST_AUTOTOPUP,
            with_payments=False,
        ) as stack,
    ):
        payments = PaymentsProcess(
            nats_url=nats_url,
            database_url=database_url,
            schema=schema,
            stripe_api_base=proxy.url,
            secret=WEBHOOK_SECRET,
            log_path=tmp_path / "pay.log",
        )
        try:
            await payments.start(stack.nc)
            tenant_id, auth = await create_tenant(stack.http)
            await save_card(stack, auth)
            proxy.hold_charges = True
            async with stack.http.stream("GET", "/v1/stream", headers=auth) as stream:
                sse = SseReader(stream)
                await enable_autotopup(stack, auth)  # balance 0 < threshold: the charge is requested now
                await asyncio.wait_for(proxy.charged.wait(), 15)
                payments.kill()

                customer = await _customer_of(database_url, schema, tenant_id)
                [charge] = await intents_of(stack.emulator, customer)
                assert charge["status"] == "succeeded"
                assert (await autotopup(stack, auth))["state"] == "in_flight"
                assert await balance(stack, auth) == 0
                await asyncio.sleep(1.5)  # the emulator gives up its webhook retries meanwhile

                proxy.hold_charges = False
                await payments.start(stack.nc)
                await _until(sse, "autotopup.succeeded", timeout=ACK_WAIT_S + 20)

            await wait_balance(stack, auth, 5_000)
            await asyncio.sleep(1.0)
            assert [i["id"] for i in await intents_of(stack.emulator, customer)] == [charge["id"]]
            assert proxy.charge_requests == 2, "the restarted payments should have asked Stripe again, same key"
            assert await balance(stack, auth) == 5_000
            assert (await autotopup(stack, auth))["state"] == "idle"
        finally:
            payments.stop()


async def _customer_of(database_url: str, schema: str, tenant_id: str) -> str:
    db = Database(database_url, schema)
    try:
        async with db.sessions() as session:
            found = await repository.customer_id_of(session, tenant_id)
    finally:
        await db.dispose()
    assert found
    return found


async def _until(sse: SseReader, event: str, *, timeout: float) -> dict:
    message = await sse.until(event, timeout=timeout)
    return json.loads(message["data"])
