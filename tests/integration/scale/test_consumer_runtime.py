"""The pull consumer under the conditions replicas meet: idle periods, and stopping mid-burst."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid

from nats.js.api import DeliverPolicy

from contracts.usage.v1 import UsageRecorded
from runtime.consumers import PullConsumer
from runtime.messaging import ensure_streams
from tests.integration.scale.ledger import usage_body
from tests.support.stack import eventually, nats_client


async def test_a_record_arriving_after_idle_time_is_handled_at_once(nats_url):
    """A batch must not wait for more messages once it has one (it did: up to the 5 s fetch timeout)."""
    seen: dict[str, float] = {}

    async def handle(records: list[UsageRecorded]) -> None:
        for r in records:
            seen[r.id] = time.monotonic()

    consumer = PullConsumer(UsageRecorded, "latency-probe", handle, batch_size=500)
    async with nats_client(nats_url) as nc:
        js = nc.jetstream()
        await ensure_streams(js)
        task = asyncio.create_task(consumer.run(js))
        latencies = []
        for i in range(12):
            await asyncio.sleep(0.35)
            sent = time.monotonic()
            await js.publish("usage.recorded.v1", usage_body(f"lat-{i}", "ten_latency", 1))
            await eventually(lambda i=i: f"lat-{i}" in seen, timeout=10, interval=0.002)
            latencies.append(seen[f"lat-{i}"] - sent)
        await consumer.drain()
        await task
    print(f"\nconsumer latency after idle: max {max(latencies) * 1000:.0f} ms")
    assert max(latencies) < 1.0, latencies


async def test_drain_finishes_the_batch_in_hand_and_returns_the_rest(nats_url):
    """Stopping mid-burst: the batch being handled is completed and acked; messages fetched but
    not handled go back at once (nak), not after ack_wait; nothing stays pending on this consumer."""
    handled: list[str] = []
    in_batch = asyncio.Event()

    async def slow(records: list[UsageRecorded]) -> None:
        in_batch.set()
        await asyncio.sleep(0.3)
        handled.extend(r.id for r in records)

    consumer = PullConsumer(UsageRecorded, "drain-probe", slow, batch_size=50)
    async with nats_client(nats_url) as nc:
        js = nc.jetstream()
        await ensure_streams(js)
        await asyncio.gather(
            *(js.publish("usage.recorded.v1", usage_body(f"d-{i}", "ten_drain", 1)) for i in range(400))
        )
        task = asyncio.create_task(consumer.run(js))
        await asyncio.wait_for(in_batch.wait(), 10)
        started = time.monotonic()
        await consumer.drain()
        await asyncio.wait_for(task, 5)
        took = time.monotonic() - started
        info = await eventually(lambda: _settled(js, "drain-probe"), timeout=3)  # acks are asynchronous
    assert 0 < len(handled) < 400 and len(handled) % 50 == 0
    assert info.num_pending + info.num_redelivered >= 400 - len(handled)
    assert took < 2.0


async def _settled(js, durable: str):
    """The consumer's info once nothing is waiting for an ack (soon after the naks, not after ack_wait)."""
    info = await js.consumer_info("USAGE", durable)
    return info if info.num_ack_pending == 0 else None


async def test_a_batch_slower_than_ack_wait_is_not_handed_to_a_second_replica(nats_url):
    """A replica still working on a batch says so (+WPI): the other replica never gets its messages."""
    handled: list[str] = []

    async def slow(records: list[UsageRecorded]) -> None:
        await asyncio.sleep(2.5)  # 2.5 × ack_wait
        handled.extend(r.id for r in records)

    replicas = [PullConsumer(UsageRecorded, "slow-probe", slow, batch_size=10, ack_wait_s=1.0) for _ in range(2)]
    async with nats_client(nats_url) as nc:
        js = nc.jetstream()
        await ensure_streams(js)
        await asyncio.gather(*(js.publish("usage.recorded.v1", usage_body(f"s-{i}", "ten_slow", 1)) for i in range(20)))
        tasks = [asyncio.create_task(replica.run(js)) for replica in replicas]
        await eventually(lambda: len(handled) >= 20, timeout=20)
        await asyncio.sleep(1.5)  # a redelivery would have been handled by now
        await asyncio.gather(*(replica.drain() for replica in replicas))
        await asyncio.gather(*tasks)
    assert sorted(handled) == sorted(f"s-{i}" for i in range(20))  # each once


async def test_a_drain_the_moment_the_long_poll_receives_loses_no_message(nats_url):
    """drain() landing just as the long poll takes its message: the message is handled (acked) or handed
    back (nak, another replica has it at once), never held by nobody until ack_wait. It was held: the
    poll was `psub.fetch(1)`, and cancelling it after its inner `queue.get()` completed lost the message
    (one SIGTERM in ~20 with two usage loops, tests/integration/scale/test_termination.py). Each round
    drains a given number of event-loop turns after the publish, so the moment moves across the window."""
    handled: set[str] = set()

    async def handle(records: list[UsageRecorded]) -> None:
        handled.update(r.id for r in records)

    run = uuid.uuid4().hex[:8]
    async with nats_client(nats_url) as nc:
        js = nc.jetstream()
        await ensure_streams(js)
        for turns, repeat in itertools.product(range(12), range(3)):
            durable, usage_id = f"poll-race-{run}-{turns}-{repeat}", f"pr-{run}-{turns}-{repeat}"

            def probe(durable: str = durable) -> PullConsumer:
                return PullConsumer(
                    UsageRecorded, durable, handle, batch_size=10, deliver_policy=DeliverPolicy.NEW, ack_wait_s=30
                )

            first = probe()
            task = asyncio.create_task(first.run(js))
            await eventually(lambda c=first: c.healthy, timeout=5, interval=0.005)
            await asyncio.sleep(0.02)  # in its long poll
            await js.publish("usage.recorded.v1", usage_body(usage_id, "ten_poll_race", 1))
            for _ in range(turns):
                await asyncio.sleep(0)
            await first.drain()
            await asyncio.wait_for(task, 5)
            if usage_id in handled:
                continue
            second = probe()  # handed back: redelivered at once, not after the 30 s ack_wait
            task = asyncio.create_task(second.run(js))
            try:
                await eventually(lambda u=usage_id: u in handled, timeout=3, interval=0.01)
            finally:
                await second.drain()
                await asyncio.wait_for(task, 5)
