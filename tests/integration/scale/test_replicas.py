"""Replica safety: two billing processes and two gateways on one NATS and one PostgreSQL.

Every usage record is debited once whichever replica takes it, both replicas do work, SSE clients
on either gateway see their own tenant's events, and a replica killed mid-burst loses nothing.
"""

from __future__ import annotations

import asyncio
import random
from contextlib import AsyncExitStack

import httpx
import pytest

from tests.integration.scale.burst import Burst
from tests.integration.scale.ledger import debits, usage_body
from tests.integration.scale.sse import collecting
from tests.support.stack import create_tenant, eventually, gateway, nats_client, running

CONSUMED = "messages_consumed_total"


def usage_plan(tenant_ids: list[str], count: int, *, seed: int) -> tuple[list, dict[str, list[str]], dict[str, int]]:
    """`count` distinct usage records, plus copies the platform re-sends: 10 % under a new
    Nats-Msg-Id (JetStream cannot drop them; the ledger must) and 5 % under the same one."""
    rnd = random.Random(seed)
    records, ids, totals = [], {t: [] for t in tenant_ids}, dict.fromkeys(tenant_ids, 0)
    for i in range(count):
        tenant = tenant_ids[i % len(tenant_ids)]
        usage_id, cents = f"{tenant}-u{i}", rnd.randint(1, 90)
        records.append((usage_id, usage_body(usage_id, tenant, cents)))
        ids[tenant].append(usage_id)
        totals[tenant] -= cents
    copies = [(f"{mid}-resent", body) for mid, body in rnd.sample(records, count // 10)]
    copies += rnd.sample(records, count // 20)
    mixed = records + copies
    rnd.shuffle(mixed)
    return mixed, ids, totals


async def test_two_billing_replicas_and_two_gateways_share_the_work(
    billing_replicas, nats_url, database_url, new_schema
):
    replicas = await billing_replicas(2)
    gw_schema = new_schema("gw")
    async with AsyncExitStack() as stack:
        nc = await stack.enter_async_context(nats_client(nats_url))
        gateways = [
            await stack.enter_async_context(
                running(gateway(nats_url, database_url, gw_schema, sse_queue_size=20_000), serve_http=True)
            )
            for _ in range(2)
        ]
        https = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=f"http://127.0.0.1:{g.port}", timeout=10))
            for g in gateways
        ]
        tenants = [await create_tenant(https[i % 2]) for i in range(3)]  # created through either gateway
        tenant_ids = [t for t, _ in tenants]
        streams = {
            (t, g): await stack.enter_async_context(collecting(https[g], auth)) for t, auth in tenants for g in (0, 1)
        }

        records, ids, totals = usage_plan(tenant_ids, 1500, seed=9)
        await Burst(nc.jetstream(), records).run()

        result = await eventually(
            lambda: _all_debited(database_url, billing_replicas.schema, tenant_ids, 1500), timeout=60
        )
        await asyncio.sleep(1.0)  # a late duplicate would show now
        after = await debits(database_url, billing_replicas.schema, tenant_ids)
        assert after == result
        assert (after.rows, after.doubled) == (1500, 0)
        assert after.balances == totals
        assert after.entries_sum == 0

        counts = [await r.counter(CONSUMED, consumer="billing-usage") for r in replicas]
        print(f"\nmessages consumed per billing replica: {counts} (stream held {1500 + 150} messages)")
        assert all(c > 0 for c in counts), f"one replica did nothing: {counts}"
        assert sum(counts) >= 1650  # every stored message was consumed (the ledger dropped the 150 re-sent)

        for (tenant, g), collected in streams.items():
            await eventually(lambda c=collected, t=tenant: len(c.references()) >= len(ids[t]), timeout=30)
            assert sorted(collected.references()) == sorted(ids[tenant]), f"gateway {g}: wrong events"
            await eventually(lambda c=collected, t=tenant: c.last_balance() == totals[t], timeout=10)


async def _all_debited(database_url, schema, tenant_ids, count):
    found = await debits(database_url, schema, tenant_ids)
    return found if found.rows >= count else None


@pytest.mark.slow
async def test_a_billing_replica_killed_mid_burst_loses_and_doubles_nothing(
    billing_replicas, nats_url, database_url, tenant_id
):
    victim, survivor = await billing_replicas(2)
    tenant_ids = [tenant_id, f"{tenant_id}-b"]
    records, _, totals = usage_plan(tenant_ids, 3000, seed=13)
    async with nats_client(nats_url) as nc:
        burst = asyncio.create_task(Burst(nc.jetstream(), records).run())
        killed_at = await eventually(
            lambda: _kill_when_busy(victim, database_url, billing_replicas.schema, tenant_ids),
            timeout=30,
            interval=0.01,
        )
        await burst
        final = await eventually(
            lambda: _all_debited(database_url, billing_replicas.schema, tenant_ids, 3000), timeout=60
        )
        await asyncio.sleep(1.0)
        assert await debits(database_url, billing_replicas.schema, tenant_ids) == final
    print(
        f"\nkilled one replica after {killed_at} of 3000 debits; survivor consumed "
        f"{await survivor.counter(CONSUMED, consumer='billing-usage'):.0f} messages"
    )
    assert (final.rows, final.distinct, final.doubled) == (3000, 3000, 0)
    assert final.balances == totals
    assert final.entries_sum == 0


async def _kill_when_busy(victim, database_url, schema, tenant_ids) -> int | None:
    """SIGKILL the victim once it has consumed some messages and a good part of the burst is still to come."""
    done = (await debits(database_url, schema, tenant_ids)).rows
    if done < 600 or await victim.counter(CONSUMED, consumer="billing-usage") == 0:
        return None
    victim.kill()
    return done
