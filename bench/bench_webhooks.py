"""Stripe webhook handling latency: from the IngestStripeWebhook RPC to TopupPaid on the bus.

    .venv/bin/python bench/bench_webhooks.py [--payments 100] [--concurrency 1]

Real NATS (private nats-server), PostgreSQL (DATABASE_URL or local) and the Stripe emulator. The
top-ups are paid at the emulator first with webhooks only recorded; then each payment's
`payment_intent.succeeded` is signed afresh and sent through the RPC the gateway uses. Measured
per payment: the RPC reply (event durably stored) and the TopupPaid message on JetStream (event
processed: Stripe re-read, top-up settled, outbox committed and relayed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devtools.infra import NatsProcess, postgres_url, service_nats_settings
from devtools.stripe_emulator import running_emulator
from services.payments.app import build
from services.payments.config import PaymentsSettings
from tests.integration.payments.helpers import create_topup, session_id
from tests.integration.payments.stripe_gateway import StripeGateway, forward
from tests.support.stack import nats_client, running

SECRET = "whsec_bench"


def pct(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def prepare(nc, emulator, gateway, n: int) -> list:
    tenant = f"bench_{uuid.uuid4().hex[:8]}"
    views = [(await create_topup(nc, tenant, 10000)).topup for _ in range(n)]
    for view in views:
        await asyncio.to_thread(emulator.pay_checkout_session, session_id(view), payment_method="pm_card_visa")
    ids = {v.id for v in views}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = {
            d.object["metadata"]["topup_id"]: d
            for d in gateway.deliveries
            if d.type == "payment_intent.succeeded" and d.object["metadata"].get("topup_id") in ids
        }
        if len(found) == n:
            return list(found.items())
        await asyncio.sleep(0.1)
    raise RuntimeError("the emulator did not send every payment_intent.succeeded")


async def measure(nc, gateway, deliveries, concurrency: int) -> tuple[list[float], list[float]]:
    paid: dict[str, asyncio.Future] = {}

    async def on_paid(msg) -> None:
        future = paid.get(json.loads(msg.data)["topup_id"])
        if future and not future.done():
            future.set_result(time.perf_counter())

    sub = await nc.subscribe("payments.topup.paid.v1", cb=on_paid)
    acks, totals, gate = [], [], asyncio.Semaphore(concurrency)

    async def one(topup_id, delivery) -> None:
        async with gate:
            paid[topup_id] = asyncio.get_running_loop().create_future()
            started = time.perf_counter()
            await forward(nc, *gateway.signed(delivery))
            acks.append(time.perf_counter() - started)
            totals.append(await asyncio.wait_for(paid[topup_id], 10) - started)

    await asyncio.gather(*(one(t, d) for t, d in deliveries))
    await sub.unsubscribe()
    return acks, totals


async def main(args) -> None:
    nats = NatsProcess().start()
    database = postgres_url()
    if database is None:
        raise SystemExit("no PostgreSQL: set DATABASE_URL")
    try:
        with running_emulator() as emulator:
            async with StripeGateway(SECRET) as gateway:
                emulator.register_webhook(gateway.endpoint, SECRET)
                gateway.record_only = True
                settings = PaymentsSettings(
                    **service_nats_settings(nats.url, "payments"),
                    database_url=database,
                    app_env="test",
                    db_schema=f"bench_{uuid.uuid4().hex[:8]}",
                    stripe_api_key=emulator.api_key,
                    stripe_api_base=emulator.base_url,
                    stripe_webhook_secret=SECRET,
                )
                async with running(build(settings)), nats_client(nats.url) as nc:
                    deliveries = await prepare(nc, emulator, gateway, args.payments)
                    acks, totals = await measure(nc, gateway, deliveries, args.concurrency)
    finally:
        nats.cleanup()
    print(f"stripe webhooks: {len(totals)} payments, concurrency {args.concurrency}")
    for name, values in (("RPC reply (stored)", acks), ("RPC → TopupPaid on bus", totals)):
        ms = [v * 1000 for v in values]
        print(f"  {name:<24} p50 {statistics.median(ms):6.1f} ms   p99 {pct(ms, 0.99):6.1f} ms   max {max(ms):6.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--payments", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=1)
    asyncio.run(main(parser.parse_args()))
