"""Auto top-up with the real payments service charging saved cards at the Stripe emulator
(issue 5, "Tests"): one charge per crossing, declines disable, SCA pauses, the monthly cap holds."""

import asyncio
import json

import pytest

from tests.support.stack import SseReader, create_tenant, publish_usage

from .support import (
    FAST_AUTOTOPUP,
    autotopup,
    balance,
    customer_id,
    enable_autotopup,
    fund,
    intents_of,
    open_stack,
    pay,
    save_card,
    wait_balance,
)

DECLINES_AT_CHARGE = "4000000000000341"
NEEDS_AUTHENTICATION = "4000002760003184"


@pytest.fixture
async def stack(nats_url, database_url, new_schema, e2e_stripe, tmp_path):
    async with open_stack(
        nats_url=nats_url,
        database_url=database_url,
        new_schema=new_schema,
        emulator=e2e_stripe,
        tmp_path=tmp_path,
        billing_overrides=FAST_AUTOTOPUP,
    ) as s:
        yield s


async def test_concurrent_usage_crossing_the_threshold_charges_once(stack):
    tenant_id, auth = await create_tenant(stack.http)
    await save_card(stack, auth)
    await fund(stack, auth, 10_000, expected_balance=10_500)  # 5 % bonus from 100 €
    await enable_autotopup(stack, auth, threshold=5_000, amount=5_000)

    js = stack.nc.jetstream()
    await asyncio.gather(
        *(publish_usage(js, usage_id=f"{tenant_id}-u{i}", tenant_id=tenant_id, amount_cents=50) for i in range(200))
    )

    await wait_balance(stack, auth, 10_500 - 200 * 50 + 5_000)
    await asyncio.sleep(1.5)  # several monitor sweeps: nothing more may happen
    assert await balance(stack, auth) == 5_500
    charges = [
        i
        for i in await intents_of(stack.emulator, await customer_id(stack, tenant_id))
        if i["metadata"].get("source") == "auto"
    ]
    assert [(i["amount"], i["status"]) for i in charges] == [(5_000, "succeeded")]
    assert (await autotopup(stack, auth))["state"] == "idle"


async def test_three_declined_charges_disable_auto_topup_and_say_why(stack):
    tenant_id, auth = await create_tenant(stack.http)
    await save_card(stack, auth, DECLINES_AT_CHARGE)
    async with stack.http.stream("GET", "/v1/stream", headers=auth) as stream:
        sse = SseReader(stream)
        await enable_autotopup(stack, auth)  # balance 0 is below the threshold: charges at once
        events = await _autotopup_events(sse, until="autotopup.disabled")

    assert [e for e, _ in events if e != "autotopup.triggered"] == ["autotopup.failed"] * 3 + ["autotopup.disabled"]
    reason = dict(events)["autotopup.disabled"]["reason"]
    assert reason
    settings = await autotopup(stack, auth)
    assert (settings["state"], settings["enabled"], settings["consecutive_failures"]) == ("disabled", False, 3)
    assert settings["disabled_reason"]
    intents = await intents_of(stack.emulator, await customer_id(stack, tenant_id))
    assert len(intents) == 3 and all(i["status"] != "succeeded" for i in intents)
    assert await balance(stack, auth) == 0


async def test_card_needing_authentication_pauses_until_the_customer_pays(stack):
    _tenant_id, auth = await create_tenant(stack.http)
    await save_card(stack, auth, NEEDS_AUTHENTICATION)
    async with stack.http.stream("GET", "/v1/stream", headers=auth) as stream:
        sse = SseReader(stream)
        await enable_autotopup(stack, auth)
        paused = dict(await _autotopup_events(sse, until="autotopup.paused"))["autotopup.paused"]
        assert paused["action_url"]
        settings = await autotopup(stack, auth)
        assert (settings["state"], settings["action_url"], settings["consecutive_failures"]) == (
            "paused",
            paused["action_url"],
            0,
        )

        await pay(stack, paused["action_url"], payment_method="pm_card_visa")
        await _autotopup_events(sse, until="autotopup.succeeded")

    await wait_balance(stack, auth, 5_000)
    settings = await autotopup(stack, auth)
    assert (settings["state"], settings["action_url"], settings["enabled"]) == ("idle", None, True)


async def test_monthly_cap_stops_the_next_charge_and_tells_the_customer(stack):
    tenant_id, auth = await create_tenant(stack.http)
    await save_card(stack, auth)
    async with stack.http.stream("GET", "/v1/stream", headers=auth) as stream:
        sse = SseReader(stream)
        await enable_autotopup(stack, auth, threshold=5_000, amount=5_000, limit=5_000)
        await _autotopup_events(sse, until="autotopup.succeeded")  # the first charge fits the cap
        await wait_balance(stack, auth, 5_000)

        await publish_usage(stack.nc.jetstream(), usage_id=f"{tenant_id}-u1", tenant_id=tenant_id, amount_cents=100)
        failed = dict(await _autotopup_events(sse, until="autotopup.failed"))["autotopup.failed"]

    assert failed["reason"] == "monthly_limit"
    await asyncio.sleep(1.0)  # monitor sweeps: still no charge
    assert await balance(stack, auth) == 4_900
    assert len(await intents_of(stack.emulator, await customer_id(stack, tenant_id))) == 1
    settings = await autotopup(stack, auth)
    assert (settings["state"], settings["consecutive_failures"], settings["enabled"]) == ("idle", 0, True)


async def _autotopup_events(sse: SseReader, *, until: str, timeout: float = 20) -> list[tuple[str, dict]]:
    """The autotopup.* events on the stream, up to and including the first `until`."""
    seen: list[tuple[str, dict]] = []

    async def read():
        while not seen or seen[-1][0] != until:
            message = await sse.next(timeout=timeout)
            if message.get("event", "").startswith("autotopup."):
                seen.append((message["event"], json.loads(message["data"])))
        return seen

    try:
        return await asyncio.wait_for(read(), timeout)
    except TimeoutError:
        raise AssertionError(f"no {until} within {timeout}s; saw {seen}") from None
