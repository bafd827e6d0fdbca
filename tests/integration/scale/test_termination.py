"""Graceful termination: SIGTERM mid-burst finishes the batch in hand, acknowledges it, publishes its
events and exits 0 well within the grace period; a restarted replica takes up the rest exactly once."""

from __future__ import annotations

import asyncio
import re
import time

import psycopg
import pytest

from runtime.messaging import ensure_streams
from tests.integration.scale.burst import Burst
from tests.integration.scale.ledger import debits, usage_body
from tests.integration.scale.test_replicas import _all_debited
from tests.support.stack import eventually, nats_client

GRACE_S = 45  # terminationGracePeriodSeconds of the billing Deployment
RECORDS = 40_000  # a backlog of a few seconds for one replica: the SIGTERM lands mid-burst


@pytest.mark.slow
@pytest.mark.parametrize("loops", [1, 2], ids=["one-usage-loop", "two-usage-loops"])
async def test_sigterm_mid_burst_finishes_the_batch_and_exits_0_then_restart_loses_nothing(
    billing_replicas, nats_url, database_url, tenant_id, loops
):
    records = [(f"{tenant_id}-t{i}", usage_body(f"{tenant_id}-t{i}", tenant_id, 3)) for i in range(RECORDS)]
    async with nats_client(nats_url) as nc:
        js = nc.jetstream()
        # The burst waits in the stream before the replica starts, so the SIGTERM races billing's pace
        # alone (about 2.5 s for 40,000 today), not the publisher's: published while billing ran, a
        # replica as fast as the publisher had finished the burst before the first poll saw 200 debits.
        await ensure_streams(js)
        await Burst(js, records).run()
        (replica,) = await billing_replicas(1, USAGE_CONSUMERS=str(loops))
        await eventually(
            lambda: _debited_at_least(database_url, billing_replicas.schema, tenant_id, 200), interval=0.01
        )
        replica.terminate()
        sent = time.monotonic()
        code = await replica.exited(timeout=GRACE_S)
        took = time.monotonic() - sent

        at_exit = await debits(database_url, billing_replicas.schema, [tenant_id])
        consumer = await js.consumer_info("USAGE", "billing-usage")
        outbox = await _outbox_rows(database_url, billing_replicas.schema)
        print(
            f"\nSIGTERM after {at_exit.rows} of {RECORDS} debits: exit {code} in {took:.2f}s; ack floor "
            f"{consumer.ack_floor.stream_seq}, delivered {consumer.delivered.stream_seq}, "
            f"ack pending {consumer.num_ack_pending}, outbox left {outbox}"
        )
        assert code == 0 and took < GRACE_S
        assert 0 < at_exit.rows < RECORDS, "SIGTERM was not mid-burst"
        assert outbox == 0  # the last batches' events were published before exit
        # Every message delivered to the replica was either committed and acknowledged, or handed back
        # (nak'ed, counted in its log): none is left to wait for ack_wait before another replica may
        # take it, and nothing committed is delivered again. A nak'ed message stays "pending" until it
        # is redelivered, so pending = handed back. With one loop the ack floor is the commit point;
        # with two, a message nak'ed by one loop (its long poll answered as it was cancelled) may lie
        # below the other loop's committed batch, so the floor is only a lower bound there.
        handed_back = sum(
            int(n) for n in re.findall(r"durable=billing-usage handed_back=(\d+)", replica.log.read_text())
        )
        assert consumer.num_ack_pending == handed_back
        assert at_exit.rows == consumer.delivered.stream_seq - handed_back  # committed ⇔ acknowledged
        assert consumer.ack_floor.stream_seq <= at_exit.rows
        if loops == 1:
            assert at_exit.rows == consumer.ack_floor.stream_seq

        await billing_replicas(1)
        final = await eventually(
            lambda: _all_debited(database_url, billing_replicas.schema, [tenant_id], RECORDS), timeout=60
        )
        caught_up = time.monotonic() - sent
        print(f"restarted replica debited the rest {caught_up:.1f}s after the SIGTERM")
        await asyncio.sleep(0.5)
    assert await debits(database_url, billing_replicas.schema, [tenant_id]) == final
    assert (final.rows, final.doubled, final.balances[tenant_id]) == (RECORDS, 0, -3 * RECORDS)


async def _debited_at_least(database_url, schema, tenant_id, count) -> bool:
    return (await debits(database_url, schema, [tenant_id])).rows >= count


async def _outbox_rows(database_url: str, schema: str) -> int:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        return (await (await conn.execute(f'SELECT count(*) FROM "{schema}".outbox')).fetchone())[0]
