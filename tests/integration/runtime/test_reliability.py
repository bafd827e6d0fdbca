"""The runtime's promises, against real NATS and PostgreSQL: outbox, inbox, dead letters, reconnects."""

import asyncio
import json

import pytest

from contracts.billing.v1 import GetBalance
from contracts.usage.v1 import UsageRecorded
from runtime.db import Database
from runtime.messaging import request
from runtime.migrations import upgrade
from runtime.outbox import OutboxRelay
from services.billing import use_cases
from services.billing.app import MIGRATIONS
from services.billing.deps import BillingDeps
from tests.support.stack import billing, eventually, nats_client, publish_usage, running


def usage(tenant_id: str, usage_id: str, cents: int) -> UsageRecorded:
    return UsageRecorded(id=usage_id, tenant_id=tenant_id, amount_cents=cents, occurred_at="2026-11-26T10:00:00Z")


async def stream_messages(js, stream: str, subject: str) -> list:
    info = await js.stream_info(stream)
    if info.state.messages == 0:
        return []
    sub = await js.pull_subscribe(subject, stream=stream)
    try:
        return await sub.fetch(info.state.messages, timeout=2)
    except TimeoutError:
        return []
    finally:
        await sub.unsubscribe()


async def test_events_committed_before_a_crash_are_published_after_restart_exactly_once(
    nats_url, database_url, new_schema, tenant_id
):
    schema = new_schema()
    db = Database(database_url, schema)
    await upgrade(db, MIGRATIONS)
    # The process commits the debit and its events, then dies before any relay runs.
    await use_cases.record_usage(deps=BillingDeps(db=db), records=[usage(tenant_id, "u-crash", 300)])
    await db.dispose()

    async with running(billing(nats_url, database_url, schema)) as svc, nats_client(nats_url) as nc:
        js = nc.jetstream()
        await eventually(lambda: _outbox_empty(svc))
        updates = await stream_messages(js, "PORTAL", "portal.balance.updated.v1")
        mine = [json.loads(m.data) for m in updates if json.loads(m.data)["tenant_id"] == tenant_id]
        assert [m["data"]["balance_cents"] for m in mine] == [-300]

        # A relay that crashed after publishing but before deleting publishes again: JetStream drops it.
        relay = OutboxRelay(svc.db, js, service="billing")
        payload = json.dumps(mine[0]).encode()
        await js.publish("portal.balance.updated.v1", payload, headers={"Nats-Msg-Id": mine[0]["id"]})
        await relay.publish_pending()
        again = await stream_messages(js, "PORTAL", "portal.balance.updated.v1")
        assert len([m for m in again if json.loads(m.data)["tenant_id"] == tenant_id]) == 1


async def _outbox_empty(svc) -> bool:
    return await svc.relay.backlog() == 0


async def test_malformed_message_is_dead_lettered_and_consumption_goes_on(
    nats_url, database_url, new_schema, tenant_id
):
    async with running(billing(nats_url, database_url, new_schema())), nats_client(nats_url) as nc:
        js = nc.jetstream()
        await js.publish("usage.recorded.v1", b'{"id": 42, "not": "a usage record"')
        await js.publish("usage.recorded.v1", json.dumps({"id": "x", "tenant_id": tenant_id}).encode())
        await publish_usage(js, usage_id=f"{tenant_id}-ok", tenant_id=tenant_id, amount_cents=75)

        async def debited():
            return (await request(nc, GetBalance(tenant_id=tenant_id))).balance_cents == -75

        await eventually(debited)
        dead = await eventually(lambda: _dead_letters(js))
        assert len(dead) == 2
        assert all(d["consumer"] == "billing-usage" and d["error"] for d in dead)
        # Two usage loops take the two messages in parallel: the dead letters' order is not promised.
        assert sorted(d["data"] for d in dead) == sorted(
            ['{"id": 42, "not": "a usage record"', json.dumps({"id": "x", "tenant_id": tenant_id})]
        )


async def _dead_letters(js):
    msgs = await stream_messages(js, "DLQ", "dlq.>")
    return [json.loads(m.data) for m in msgs] if len(msgs) >= 2 else None


async def test_nats_restart_loses_nothing(nats_server, nats_url, database_url, new_schema, tenant_id):
    if nats_server is None:
        pytest.skip("NATS_URL points at a server this test cannot restart")
    schema = new_schema()
    async with running(billing(nats_url, database_url, schema)) as svc, nats_client(nats_url) as nc:
        js = nc.jetstream()
        await publish_usage(js, usage_id=f"{tenant_id}-before", tenant_id=tenant_id, amount_cents=100)
        await eventually(lambda: _balance_is(nc, tenant_id, -100))

        nats_server.stop()
        # While NATS is down the service keeps committing: its events wait in the outbox.
        await use_cases.record_usage(deps=BillingDeps(db=svc.db), records=[usage(tenant_id, f"{tenant_id}-during", 20)])
        await asyncio.sleep(1.0)
        nats_server.start()

        await eventually(lambda: nc.is_connected, timeout=15)
        await eventually(lambda: _published(js, tenant_id, -120), timeout=20)
        await publish_usage(js, usage_id=f"{tenant_id}-after", tenant_id=tenant_id, amount_cents=5)
        await eventually(lambda: _balance_is(nc, tenant_id, -125), timeout=20)


async def _balance_is(nc, tenant_id, cents) -> bool:
    try:
        return (await request(nc, GetBalance(tenant_id=tenant_id), timeout=1)).balance_cents == cents
    except Exception:
        return False


async def _published(js, tenant_id, cents) -> bool:
    try:
        msgs = await stream_messages(js, "PORTAL", "portal.balance.updated.v1")
    except Exception:
        return False
    return any(
        json.loads(m.data)["tenant_id"] == tenant_id and json.loads(m.data)["data"]["balance_cents"] == cents
        for m in msgs
    )
