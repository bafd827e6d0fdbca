"""1,000 money operations on one tenant from 20 concurrent publishers through NATS, consumed by one
and by two billing instances: the final balance is exact, each operation counted once.

Why it holds: every consuming transaction claims its message ids in the inbox first (duplicates
drop out, also across instances: the primary key serializes them), then locks the tenant's
account row FOR UPDATE, so concurrent batches on one tenant apply one after the other.
"""

import asyncio
import contextlib
import json
import random

import pytest
import sqlalchemy as sa

from contracts.billing.v1 import GetBalance
from contracts.payments.v1 import TopupPaid
from runtime.db import Database
from runtime.messaging import request
from services.payments.domain.bonus import bonus_for, parse_tiers
from tests.support.stack import billing, eventually, nats_client, running

TIERS = parse_tiers("10000:5,25000:10,50000:15")
PUBLISHERS, OPS_EACH = 20, 50


def plan(tenant_id: str, seed: int) -> tuple[list[list[tuple[str, bytes, str]]], int, int]:
    """Per publisher: (subject, body, Nats-Msg-Id); ~10 % top-ups; ~5 % re-sent with a new Msg-Id."""
    rng, expected, count = random.Random(seed), 0, 0
    lanes = []
    for p in range(PUBLISHERS):
        lane = []
        for i in range(OPS_EACH):
            if rng.random() < 0.1:
                amount = rng.choice([1000, 10000, 25000, 50000, 12345])
                body = TopupPaid(
                    tenant_id=tenant_id,
                    topup_id=f"{tenant_id}-t{p}-{i}",
                    amount_cents=amount,
                    bonus_cents=bonus_for(amount, TIERS),
                    payment_intent_id=f"pi_{p}_{i}",
                    paid_at="2026-11-26T10:00:00Z",
                )
                lane.append((TopupPaid.subject, body.model_dump_json().encode(), body.event_id))
                expected += amount + bonus_for(amount, TIERS)
                count += 2 if bonus_for(amount, TIERS) else 1
            else:
                cents, uid = rng.randint(1, 500), f"{tenant_id}-u{p}-{i}"
                body = json.dumps(
                    {"id": uid, "tenant_id": tenant_id, "amount_cents": cents, "occurred_at": "2026-11-26T10:00:00Z"}
                ).encode()
                lane.append(("usage.recorded.v1", body, uid))
                expected, count = expected - cents, count + 1
            if rng.random() < 0.05:  # the producer retries: same usage/top-up id, a new Msg-Id
                lane.append((lane[-1][0], lane[-1][1], f"retry-{lane[-1][2]}"))
        lanes.append(lane)
    return lanes, expected, count


async def publish_lane(nats_url: str, lane) -> None:
    async with nats_client(nats_url) as nc:
        js = nc.jetstream()
        for subject, body, msg_id in lane:
            await js.publish(subject, body, headers={"Nats-Msg-Id": msg_id})


@pytest.mark.parametrize("instances", [1, 2])
async def test_one_thousand_concurrent_operations_on_one_tenant_end_exact(
    instances, nats_url, database_url, new_schema, tenant_id
):
    schema = new_schema()
    lanes, expected, count = plan(tenant_id, seed=instances)
    assert sum(len(lane) for lane in lanes) >= 1000
    services = [billing(nats_url, database_url, schema, usage_batch_size=50) for _ in range(instances)]
    async with contextlib.AsyncExitStack() as stack:
        for service in services:  # two instances share the durable consumer and the database
            await stack.enter_async_context(running(service))
        nc = await stack.enter_async_context(nats_client(nats_url))
        await asyncio.gather(*(publish_lane(nats_url, lane) for lane in lanes))

        async def transactions() -> int:
            async with services[0].db.sessions() as s:
                return (await s.execute(sa.text("SELECT count(*) FROM ledger_transactions"))).scalar()

        await eventually(lambda: _equals(transactions(), count), timeout=120)
        await asyncio.sleep(0.5)  # nothing more arrives late
        assert await transactions() == count
        assert (await request(nc, GetBalance(tenant_id=tenant_id))).balance_cents == expected
    await _check_books(database_url, schema, tenant_id, expected)


async def _check_books(database_url: str, schema: str, tenant_id: str, expected: int) -> None:
    db = Database(database_url, schema)
    try:
        async with db.sessions() as s:
            entries = (
                await s.execute(
                    sa.text("SELECT coalesce(sum(amount_cents), 0) FROM ledger_entries WHERE account = :a"),
                    {"a": f"tenant:{tenant_id}"},
                )
            ).scalar()
            total = (await s.execute(sa.text("SELECT sum(amount_cents) FROM ledger_entries"))).scalar()
            last = (
                await s.execute(
                    sa.text("SELECT balance_after_cents FROM ledger_transactions ORDER BY seq DESC LIMIT 1")
                )
            ).scalar()
    finally:
        await db.dispose()
    assert entries == expected == last and total == 0


async def _equals(awaitable, expected) -> bool:
    return (await awaitable) == expected
