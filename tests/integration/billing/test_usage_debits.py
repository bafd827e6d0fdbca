import asyncio

from contracts.billing.v1 import GetBalance, ListTransactions
from runtime.messaging import request
from tests.support.stack import billing, eventually, nats_client, publish_usage, running


async def balance_of(nc, tenant_id: str) -> int:
    return (await request(nc, GetBalance(tenant_id=tenant_id))).balance_cents


async def test_usage_is_debited_and_listed(nats_url, database_url, new_schema, tenant_id):
    async with running(billing(nats_url, database_url, new_schema())), nats_client(nats_url) as nc:
        js = nc.jetstream()
        await publish_usage(js, usage_id=f"{tenant_id}-u1", tenant_id=tenant_id, amount_cents=250)
        await eventually(lambda: _is(balance_of(nc, tenant_id), -250))
        page = await request(nc, ListTransactions(tenant_id=tenant_id))
        assert [(t.kind, t.amount_cents, t.balance_after_cents) for t in page.items] == [("usage", -250, -250)]


async def test_same_usage_id_five_times_concurrently_debits_once(nats_url, database_url, new_schema, tenant_id):
    async with running(billing(nats_url, database_url, new_schema())), nats_client(nats_url) as nc:
        js = nc.jetstream()
        # Distinct Nats-Msg-Ids defeat JetStream's de-duplication: the ledger alone must hold.
        await asyncio.gather(
            *[
                js.publish(
                    "usage.recorded.v1",
                    f'{{"id":"dup-{tenant_id}","tenant_id":"{tenant_id}","amount_cents":100,'
                    f'"occurred_at":"2026-11-26T10:00:00Z"}}'.encode(),
                    headers={"Nats-Msg-Id": f"copy-{i}-{tenant_id}"},
                )
                for i in range(5)
            ]
        )
        await publish_usage(js, usage_id=f"{tenant_id}-marker", tenant_id=tenant_id, amount_cents=1)
        await eventually(lambda: _is(balance_of(nc, tenant_id), -101))
        await asyncio.sleep(0.3)
        assert await balance_of(nc, tenant_id) == -101


async def _is(awaitable, expected):
    return (await awaitable) == expected


async def test_balance_as_of_a_past_moment(nats_url, database_url, new_schema, tenant_id):
    from datetime import UTC, datetime

    async with running(billing(nats_url, database_url, new_schema())), nats_client(nats_url) as nc:
        js = nc.jetstream()
        before_any = datetime.now(UTC)
        await publish_usage(js, usage_id=f"{tenant_id}-a", tenant_id=tenant_id, amount_cents=100)
        await eventually(lambda: _is(balance_of(nc, tenant_id), -100))
        between = datetime.now(UTC)
        await publish_usage(js, usage_id=f"{tenant_id}-b", tenant_id=tenant_id, amount_cents=50)
        await eventually(lambda: _is(balance_of(nc, tenant_id), -150))
        past = [
            (await request(nc, GetBalance(tenant_id=tenant_id, as_of=t))).balance_cents for t in (before_any, between)
        ]
        assert past == [0, -100]
