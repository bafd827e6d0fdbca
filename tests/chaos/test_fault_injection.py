"""Nothing lost, nothing doubled, nothing stuck — under the outages an operator meets.

The real services as processes on a private PostgreSQL, a private NATS and the Stripe emulator,
with mixed traffic (usage on NATS, Checkout top-ups, auto top-ups, partial refunds) while:

    t+0 s     10 % of Stripe's webhooks are never delivered, for the whole run
    t+15 s    PostgreSQL stopped for 60 s
    t+30 s    no webhook at all for 8 s (whatever is paid or refunded then, only the reconciler sees)
    t+45 s    Stripe answers 500 to every API call for 60 s
    t+115 s   NATS restarted
    t+125 s   billing killed (SIGKILL) and started again
    t+130 s   payments killed (SIGKILL) and started again
    t+140 s   traffic stops

Afterwards, with no human action, every invariant of tests/chaos/invariants.py must hold within
HEAL_S. After each fault the test measures how long until the services it touched are ready and
have nothing left waiting on it (`messages_retrying`, unprocessed Stripe events). Run alone with
`make chaos`; CHAOS_KEEP_LOGS=dir keeps the processes' logs.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.payments.stripe.client import StripeAdapter
from tests.chaos import invariants
from tests.chaos.traffic import Traffic
from tests.chaos.world import World, since
from tests.integration.scale.procs import parse_sample
from tests.support.stack import eventually

pytestmark = [pytest.mark.chaos, pytest.mark.slow, pytest.mark.timeout(900)]
HEAL_S = 150


@pytest.fixture
async def world():
    started = World().start()
    try:
        await started.ready()
        yield started
    finally:
        started.stop()


async def test_outages_lose_double_and_strand_nothing(world):
    traffic = Traffic(world)
    async with world.http() as http:
        await traffic.setup(http)
    world.emulator.inject_faults(drop_webhooks=0.1, seed=7)
    start = time.monotonic()
    running = asyncio.create_task(traffic.run())
    recovered: dict[str, float] = {}
    measuring: list[asyncio.Task] = []

    async def at(second: float) -> None:
        await asyncio.sleep(max(0.0, second - (time.monotonic() - start)))

    def measure(fault: str, *services: str, stripe: bool = False) -> None:
        """In the background: seconds until `services` are ready with nothing waiting on the fault."""

        async def settled() -> bool:
            return await _settled(world, services) and (not stripe or await _webhooks_processed(world))

        async def run() -> None:
            recovered[fault] = await _until(settled)

        measuring.append(asyncio.create_task(run()))

    await at(15)
    world.pg.stop()
    await at(30)
    world.emulator.inject_faults(drop_webhooks=1.0)
    await at(38)
    world.emulator.inject_faults(drop_webhooks=0.1, seed=8)
    await at(45)
    world.emulator.inject_faults(api_status=500, for_s=60, drop_webhooks=0.1, seed=9)
    await at(75)
    world.pg.start()
    measure("postgres", "billing", "documents", "gateway")
    await at(105)
    world.emulator.inject_faults(drop_webhooks=0.1, seed=10)  # Stripe answers again
    measure("stripe", "payments", stripe=True)
    await at(115)
    world.nats.restart()
    measure("nats", *world.services)
    await at(125)
    world.kill("billing")
    measure("billing killed", "billing")
    await at(130)
    world.kill("payments")
    measure("payments killed", "payments")
    await at(140)
    traffic.stop()
    await running
    stopped = time.monotonic()
    await asyncio.gather(*measuring)

    found = await _healed(world, traffic)
    whole_after = since(stopped)
    dead = await invariants.dead_letters(world)
    unexpected_dead = [d for d in dead if not d["data"].startswith('{"id": "poison-')]

    print(
        f"\nops {traffic.ops:,} · faults 6 · lost {len(found.lost)} · doubled {len(found.doubled)} · "
        f"stuck {len(found.stuck)} · healed by reconciler {found.healed}"
    )
    print(
        f"usage {len(traffic.usage_ids):,}, checkouts {traffic.checkouts}, refunds {traffic.refunds}, "
        f"poisoned {traffic.poisoned}; whole {whole_after:.0f} s after the traffic stopped; back after each "
        f"fault (s): " + ", ".join(f"{k} {v:.1f}" for k, v in recovered.items())
    )
    assert found.whole, found.summary()
    assert unexpected_dead == [], unexpected_dead
    assert len(dead) == traffic.poisoned


async def _healed(world: World, traffic: Traffic) -> invariants.Findings:
    """Poll the invariants until they hold (the reconciler and the monitor need a few rounds)."""
    deadline = time.monotonic() + HEAL_S
    while True:
        intents, refunds = await _stripe(world)
        found = await asyncio.to_thread(
            invariants.check, world, traffic, stripe_intents=intents, stripe_refunds=refunds
        )
        if found.whole or time.monotonic() > deadline:
            return found
        print(f"  not whole yet: {found.summary()}", flush=True)
        await asyncio.sleep(5)


async def _stripe(world: World) -> tuple[list[dict], list[dict]]:
    """Our succeeded PaymentIntents and succeeded refunds, as Stripe has them."""
    stripe = StripeAdapter(api_key=world.emulator.api_key, api_base=world.emulator.base_url)
    try:
        since_ = datetime.now(UTC) - timedelta(hours=1)
        intents = [
            i
            for i in await stripe.list_payment_intents(created_since=since_)
            if i.get("status") == "succeeded" and (i.get("metadata") or {}).get("topup_id")
        ]
        refunds = [r for r in await stripe.list_refunds_since(created_since=since_) if r.get("status") == "succeeded"]
    finally:
        await stripe.aclose()
    return intents, refunds


async def _settled(world: World, services) -> bool:
    """Ready, and no message waiting on a dependency (`messages_retrying`) in these services."""
    for name in services:
        service = world.services[name]
        try:
            async with httpx.AsyncClient(base_url=service.base_url, timeout=2) as http:
                if (await http.get("/readyz")).status_code != 200:
                    return False
                if parse_sample((await http.get("/metrics")).text, "messages_retrying", {}) > 0:
                    return False
        except httpx.HTTPError:
            return False
    return True


async def _webhooks_processed(world: World) -> bool:
    with world.psql("payments") as payments:
        waiting = payments.execute(
            "SELECT count(*) FROM stripe_events WHERE processed_at IS NULL AND next_attempt_at IS NOT NULL"
        ).fetchone()[0]
    return waiting == 0


async def _until(check, timeout: float = 120) -> float:
    started = time.monotonic()
    await eventually(check, timeout=timeout, interval=0.25)
    return time.monotonic() - started
