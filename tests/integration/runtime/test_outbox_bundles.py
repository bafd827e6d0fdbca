"""A debit batch's events are one outbox row (a bundle): the relay publishes every event of it as its own
message with its own Nats-Msg-Id, in order, and a bundle published twice (a crash between publish and
delete) is stored once."""

import json

import sqlalchemy as sa

from contracts.usage.v1 import UsageRecorded
from runtime.db import Database
from runtime.migrations import upgrade
from runtime.outbox import BUNDLE, BUNDLE_FROM
from services.billing import use_cases
from services.billing.app import MIGRATIONS
from services.billing.deps import BillingDeps
from tests.support.stack import billing, eventually, nats_client, running

from .test_reliability import stream_messages

DEBITS = 150


async def outbox_rows(db: Database) -> list[tuple[str, bytes, str]]:
    async with db.sessions() as s:
        query = sa.text("SELECT subject, payload, event_id FROM outbox ORDER BY id")
        return [tuple(r) for r in (await s.execute(query)).all()]


async def test_a_bundle_is_published_event_by_event_once(nats_url, database_url, new_schema, tenant_id):
    assert DEBITS >= BUNDLE_FROM
    schema = new_schema()
    db = Database(database_url, schema)
    await upgrade(db, MIGRATIONS)
    records = [
        UsageRecorded(id=f"{tenant_id}-b{i}", tenant_id=tenant_id, amount_cents=i, occurred_at="2026-11-26T10:00:00Z")
        for i in range(DEBITS)
    ]
    await use_cases.record_usage(deps=BillingDeps(db=db), records=records)  # committed, nobody relays yet
    [bundle] = await outbox_rows(db)
    assert bundle[0] == BUNDLE

    async with running(billing(nats_url, database_url, schema)) as svc, nats_client(nats_url) as nc:
        js = nc.jetstream()
        await eventually(lambda: _outbox_empty(svc))
        created = await stream_messages(js, "PORTAL", "portal.transaction.created.v1")
        mine = [m for m in created if json.loads(m.data)["tenant_id"] == tenant_id]
        assert [json.loads(m.data)["data"]["balance_after_cents"] for m in mine] == [
            -sum(range(i + 1)) for i in range(DEBITS)
        ]
        assert all(m.headers["Nats-Msg-Id"] == json.loads(m.data)["id"] for m in mine)

        # The relay crashed after publishing, before its delete committed: the bundle is there again.
        async with db.transaction() as s:
            await s.execute(
                sa.text("INSERT INTO outbox (event_id, subject, payload, created_at) VALUES (:e, :s, :p, now())"),
                {"e": bundle[2], "s": bundle[0], "p": bundle[1]},
            )
        svc.relay.wake()
        await eventually(lambda: _outbox_empty(svc))
        again = await stream_messages(js, "PORTAL", "portal.transaction.created.v1")
        assert len([m for m in again if json.loads(m.data)["tenant_id"] == tenant_id]) == DEBITS
    await db.dispose()


async def _outbox_empty(svc) -> bool:
    return await svc.relay.backlog() == 0
