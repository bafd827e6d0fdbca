"""Auto top-up: the trigger inside the debit's transaction, and the monitor, against NATS + PostgreSQL."""

import asyncio

import sqlalchemy as sa

from runtime.db import Database
from services.billing.autotopup import store
from services.billing.autotopup.monitor import sweep
from services.billing.autotopup.store import Policy
from tests.integration.billing.autotopup_support import (
    HOLD,
    PAID,
    EmulatedPayments,
    PortalCapture,
    balance,
    credit,
    enable_when_card_known,
    view,
)
from tests.support.stack import billing, eventually, nats_client, publish_usage, running

FAST = {"autotopup_monitor_s": 0.1, "autotopup_cooldown_s": 0, "autotopup_retry_s": "0.2,0.2"}


async def test_200_concurrent_usage_records_crossing_the_threshold_request_exactly_one_charge(
    nats_url, database_url, new_schema, tenant_id
):
    schema = new_schema()
    replicas = [billing(nats_url, database_url, schema, usage_batch_size=7, **FAST) for _ in range(2)]
    async with running(replicas[0]), running(replicas[1]), nats_client(nats_url) as nc:
        js = nc.jetstream()
        payments = await EmulatedPayments(js, PAID).start()
        events = await PortalCapture().start(nc, tenant_id)
        await credit(js, tenant_id, 9000)  # below the first bonus tier
        await eventually(lambda: _equals(balance(nc, tenant_id), 9000))
        await payments.save_default_card(tenant_id)
        await enable_when_card_known(nc, tenant_id, threshold=5000, amount=5000)

        await asyncio.gather(
            *[publish_usage(js, usage_id=f"{tenant_id}-{i}", tenant_id=tenant_id, amount_cents=45) for i in range(200)]
        )
        # 200 × 45 = 9,000 debited; one charge of 5,000 (no bonus below 100 €) credited once.
        await eventually(lambda: _equals(balance(nc, tenant_id), 5000), timeout=20)
        await asyncio.sleep(1.0)  # monitors sweep 10× meanwhile
        assert len(payments.requests) == 1
        assert await balance(nc, tenant_id) == 5000
        state = await view(nc, tenant_id)
        assert (state.state, state.consecutive_failures, state.last_triggered_at is not None) == ("idle", 0, True)
        assert [len(events.of(k)) for k in ("triggered", "succeeded", "failed")] == [1, 1, 0]
        await payments.stop()


async def test_two_monitors_running_together_with_a_tenant_below_threshold_make_one_charge(
    nats_url, database_url, new_schema, tenant_id
):
    schema = new_schema()
    settings = {**FAST, "autotopup_monitor_s": 0.02}
    replicas = [billing(nats_url, database_url, schema, **settings) for _ in range(2)]
    async with running(replicas[0]), running(replicas[1]), nats_client(nats_url) as nc:
        payments = await _missed_trigger(replicas[0].db, nc, tenant_id)  # a "missed trigger"

        await eventually(lambda: len(payments.requests) == 1)
        await asyncio.sleep(3.0)  # ~150 sweeps per replica while the charge is in flight
        assert len(payments.requests) == 1
        assert (await view(nc, tenant_id)).state == "in_flight"
        await payments.resolve(payments.requests[0][1], "paid")
        await eventually(lambda: _equals(balance(nc, tenant_id), 2000))
        await asyncio.sleep(0.5)
        assert len(payments.requests) == 1
        await payments.stop()


async def test_sweeps_racing_on_two_connection_pools_request_one_charge(nats_url, database_url, new_schema, tenant_id):
    """The proof of `FOR UPDATE SKIP LOCKED` + state under the lock: 40 sweeps at once, one charge."""
    schema = new_schema()
    service = billing(nats_url, database_url, schema, autotopup_monitor_s=3600)
    async with running(service), nats_client(nats_url) as nc:
        payments = await _missed_trigger(service.db, nc, tenant_id)
        pools = [Database(database_url, schema) for _ in range(2)]
        try:
            results = await asyncio.gather(*[sweep(db=pools[i % 2], policy=Policy(cooldown_s=0)) for i in range(40)])
        finally:
            for pool in pools:
                await pool.dispose()
        assert sum(results) == 1
        await eventually(lambda: len(payments.requests) == 1)
        await asyncio.sleep(0.3)
        assert len(payments.requests) == 1
        await payments.stop()


async def test_monitor_paused_between_its_reads_and_its_write_racing_a_debit_batch_requests_one_charge(
    nats_url, database_url, new_schema, tenant_id, monkeypatch
):
    """The monitor reads the rule and this month's spend, stalls, then writes; meanwhile a debit batch
    takes the tenant below the threshold too. The debit waits on the account row the monitor locked
    (FOR UPDATE, before its first read), then finds the rule `in_flight`: one charge, never two."""
    service = billing(nats_url, database_url, new_schema(), autotopup_monitor_s=3600, autotopup_cooldown_s=0)
    async with running(service), nats_client(nats_url) as nc:
        js = nc.jetstream()
        payments = await _missed_trigger(service.db, nc, tenant_id)

        read, release = asyncio.Event(), asyncio.Event()
        spent = store.spent_this_month

        async def stalling_after_the_reads(session, tenant, month):
            value = await spent(session, tenant, month)
            if not read.is_set():  # the monitor's decision (the first one): stall before writing
                read.set()
                await release.wait()
            return value

        monkeypatch.setattr(store, "spent_this_month", stalling_after_the_reads)
        monitor = asyncio.create_task(sweep(db=service.db, policy=Policy(cooldown_s=0)))
        await read.wait()
        await publish_usage(js, usage_id=f"{tenant_id}-v", tenant_id=tenant_id, amount_cents=500)
        await asyncio.sleep(1.0)
        assert await balance(nc, tenant_id) == -3000  # the debit batch waits for the monitor's lock
        release.set()

        assert await monitor == 1
        await eventually(lambda: _equals(balance(nc, tenant_id), -3500))
        await asyncio.sleep(0.3)
        assert len(payments.requests) == 1
        async with service.db.sessions() as session:
            charges = (
                await session.execute(
                    sa.text("SELECT count(*) FROM autotopup_charges WHERE tenant_id = :t"), {"t": tenant_id}
                )
            ).scalar()
        assert charges == 1
        await payments.stop()


async def test_cooldown_is_respected_between_two_charges(nats_url, database_url, new_schema, tenant_id):
    cooldown = 1.5
    async with (
        running(billing(nats_url, database_url, new_schema(), **{**FAST, "autotopup_cooldown_s": cooldown})),
        nats_client(nats_url) as nc,
    ):
        js = nc.jetstream()
        payments = await EmulatedPayments(js, PAID).start()
        await payments.save_default_card(tenant_id)
        await enable_when_card_known(nc, tenant_id, threshold=100_000, amount=5000)  # always below
        await publish_usage(js, usage_id=f"{tenant_id}-u", tenant_id=tenant_id, amount_cents=100)
        await eventually(lambda: len(payments.requests) == 2, timeout=10)
        (_, first), (_, second) = payments.requests[:2]
        assert (second.occurred_at - first.occurred_at).total_seconds() >= cooldown  # decision times
        assert payments.max_outstanding == 1
        await payments.stop()


async def _missed_trigger(db: Database, nc, tenant_id: str) -> EmulatedPayments:
    """A tenant 30 € below zero whose rule (threshold 10 €, a card known, no charge in flight) was
    enabled behind the trigger's back: only a monitor sweep can notice it. Answers the stand-in for
    payments, which holds every charge in flight."""
    js = nc.jetstream()
    payments = await EmulatedPayments(js, HOLD).start()
    await payments.save_default_card(tenant_id)
    await enable_when_card_known(nc, tenant_id, enabled=False, threshold=1000)
    await publish_usage(js, usage_id=f"{tenant_id}-u", tenant_id=tenant_id, amount_cents=3000)
    await eventually(lambda: _equals(balance(nc, tenant_id), -3000))
    await _enable_behind_the_triggers_back(db, tenant_id)
    return payments


async def _enable_behind_the_triggers_back(db: Database, tenant_id: str) -> None:
    async with db.transaction() as session:
        await session.execute(
            sa.text("UPDATE autotopup_settings SET enabled = true, state = 'idle' WHERE tenant_id = :t"),
            {"t": tenant_id},
        )


async def _equals(awaitable, expected) -> bool:
    return (await awaitable) == expected
