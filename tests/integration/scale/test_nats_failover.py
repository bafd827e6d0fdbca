"""NATS cluster failover: three JetStream servers, streams at replication 3, the money path running
(billing debiting usage into PostgreSQL) while a burst is published, and the USAGE stream's leader
killed (SIGKILL) mid-burst. Nothing may be lost or doubled; the time without service is measured."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.integration.scale.burst import Burst
from tests.integration.scale.ledger import DebitSampler, debits
from tests.integration.scale.procs import ServiceProcess, billing_env
from tests.integration.scale.test_replicas import _all_debited, usage_plan
from tests.support.cluster import NatsCluster
from tests.support.stack import eventually, nats_client

RECORDS = 3000
KILL_AFTER_ACKS = 1000


@pytest.fixture
async def cluster():
    nodes = NatsCluster().start()
    try:
        async with nats_client(nodes.urls) as nc:
            await nodes.wait_ready(nc)
        await nodes.provision()
        yield nodes
    finally:
        nodes.cleanup()


@pytest.mark.slow
async def test_killing_the_usage_stream_leader_mid_burst_loses_and_doubles_nothing(
    cluster, database_url, new_schema, tmp_path, tenant_id
):
    schema = new_schema("bil")
    billing = ServiceProcess(
        "billing", billing_env(cluster.url, database_url, schema, NATS_STREAM_REPLICAS="3"), tmp_path, name="billing"
    ).start()
    try:
        await billing.ready()
        tenant_ids = [tenant_id, f"{tenant_id}-b", f"{tenant_id}-c"]
        records, _, totals = usage_plan(tenant_ids, RECORDS, seed=3)
        async with nats_client(cluster.urls) as nc:
            js = nc.jetstream()
            info = await js.stream_info("USAGE")
            assert info.config.num_replicas == 3
            leader = await cluster.stream_leader(nc, "USAGE")
            kill = {}

            def on_ack(acked: int) -> None:
                if acked == KILL_AFTER_ACKS:
                    kill["at"] = cluster.kill(leader)

            burst = Burst(js, records, on_ack=on_ack, timeout=1.0)
            async with DebitSampler(database_url, schema, tenant_ids) as sampler:
                started = time.monotonic()
                await burst.run()
                published = time.monotonic()
                final = await eventually(
                    lambda: _all_debited(database_url, schema, tenant_ids, RECORDS), timeout=90, interval=0.1
                )
                debited = time.monotonic()
            new_leader = await cluster.stream_leader(nc, "USAGE")
            await asyncio.sleep(1.0)
            assert await debits(database_url, schema, tenant_ids) == final

            cluster.start(leader)  # the killed server comes back and catches up
            caught_up = await cluster.wait_current(nc, "USAGE", timeout=60)
            stored = (await js.stream_info("USAGE")).state.messages

        publish_gap, gap_at = burst.largest_gap()
        stall, stall_at = sampler.largest_stall(until_count=RECORDS)
        figures = {
            "killed leader": f"{leader} (new leader {new_leader})",
            "publish acks: largest gap": f"{publish_gap:.2f}s (starting {gap_at - kill['at']:+.2f}s from the kill)",
            "debits: largest stall": f"{stall:.2f}s (starting {stall_at - kill['at']:+.2f}s from the kill)",
            "publisher retries": dict(burst.errors),
            "burst published in": f"{published - started:.2f}s",
            "all debited after": f"{debited - started:.2f}s",
            "records": f"{RECORDS} distinct + {len(records) - RECORDS} re-sent; stream holds {stored}",
            "debited": f"{final.rows} (distinct {final.distinct}), lost {RECORDS - final.distinct}, "
            f"doubled {final.doubled}",
            "replicas after restart": [r["name"] for r in caught_up["replicas"]] + [caught_up["leader"]],
        }
        print("\nNATS failover figures:\n" + "\n".join(f"  {k}: {v}" for k, v in figures.items()))
        assert "at" in kill
        assert (final.rows, final.distinct, final.doubled) == (RECORDS, RECORDS, 0)
        assert final.balances == totals
        assert final.entries_sum == 0
        assert stored == RECORDS + RECORDS // 10  # the same Nats-Msg-Id was stored once, also across the failover
    finally:
        billing.stop()


async def test_the_rate_limit_bucket_is_replicated_like_the_streams(cluster):
    from services.gateway.ratelimit import BUCKET, RateLimiter

    async with nats_client(cluster.urls) as nc:
        limiter = RateLimiter(limit_per_minute=5, replicas=3)
        await limiter.start(nc.jetstream())
        await limiter.check("caller")
        info = await nc.jetstream().stream_info(f"KV_{BUCKET}")
        assert info.config.num_replicas == 3
