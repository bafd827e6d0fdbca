"""Reservations under concurrency: a hold is settled once however many settles race for it.

Each settle locks the hold row (`FOR UPDATE`) before reading its status, so the second one waits,
then finds it `settled` and answers the first one's transaction.
"""

import asyncio

import sqlalchemy as sa

from contracts.base import utcnow
from contracts.billing.v1 import GetBalance, Release, Reserve, Settle
from contracts.payments.v1 import TopupPaid
from contracts.usage.v1 import UsageRecorded
from runtime.messaging import request
from tests.support.stack import billing, eventually, nats_client, running


async def test_twenty_concurrent_settles_of_one_reservation_on_two_replicas_debit_once(
    nats_url, database_url, new_schema, tenant_id
):
    schema = new_schema()
    replicas = [billing(nats_url, database_url, schema) for _ in range(2)]
    async with running(replicas[0]), running(replicas[1]), nats_client(nats_url) as nc:
        paid = TopupPaid(
            tenant_id=tenant_id,
            topup_id=f"top_{tenant_id}",
            amount_cents=5000,
            bonus_cents=0,
            payment_intent_id="pi_x",
            paid_at=utcnow(),
        )
        await nc.jetstream().publish(paid.subject, paid.model_dump_json().encode())
        await eventually(lambda: _balance_is(nc, tenant_id, 5000))
        held = await request(nc, Reserve(id=f"r-{tenant_id}", tenant_id=tenant_id, amount_cents=2000, ttl_s=60))
        assert held.ok and held.available_cents == 3000

        record = UsageRecorded(
            id=f"u-{tenant_id}", tenant_id=tenant_id, amount_cents=1500, quantity=3, unit="minute", occurred_at=utcnow()
        )
        settles = [request(nc, Settle(reservation_id=held.reservation_id, usage=record)) for _ in range(20)]
        releases = [request(nc, Release(reservation_id=held.reservation_id)) for _ in range(5)]
        replies = await asyncio.gather(*settles, *releases)

        settled = replies[:20]
        assert all(r.ok for r in replies)
        assert len({r.transaction_id for r in settled}) == 1 and settled[0].transaction_id
        assert (await request(nc, GetBalance(tenant_id=tenant_id))).balance_cents == 3500
        async with replicas[0].db.sessions() as session:
            debits = (
                await session.execute(
                    sa.text("SELECT count(*) FROM ledger_transactions WHERE tenant_id = :t AND kind = 'usage'"),
                    {"t": tenant_id},
                )
            ).scalar()
        assert debits == 1


async def _balance_is(nc, tenant_id: str, cents: int) -> bool:
    return (await request(nc, GetBalance(tenant_id=tenant_id))).balance_cents == cents
