"""One test per auto top-up failure mode Lago shipped (issue 5): ours must have none of them."""

import asyncio
import itertools

import pytest

from runtime.messaging import ServiceError
from tests.integration.billing.autotopup_support import (
    HOLD,
    PAID,
    EmulatedPayments,
    PortalCapture,
    balance,
    configure,
    enable_when_card_known,
    view,
)
from tests.support.stack import billing, eventually, nats_client, publish_usage, running

FAST = {"autotopup_monitor_s": 0.1, "autotopup_cooldown_s": 0, "autotopup_retry_s": "0.3,0.3"}


async def test_lago_fixed_amount_rule_charging_once_per_increment_until_the_gap_closed(
    nats_url, database_url, new_schema, tenant_id
):
    """A debit 500 € below the threshold with a 50 € rule: one charge of 50 €, not ten at once;
    the next single charge only after the first resolved and the cooldown elapsed."""
    cooldown = 1.0
    async with (
        running(billing(nats_url, database_url, new_schema(), **{**FAST, "autotopup_cooldown_s": cooldown})),
        nats_client(nats_url) as nc,
    ):
        js = nc.jetstream()
        payments = await EmulatedPayments(js, PAID).start()
        await payments.save_default_card(tenant_id)
        await enable_when_card_known(nc, tenant_id, threshold=0, amount=5000, limit=1_000_000)
        await publish_usage(js, usage_id=f"{tenant_id}-big", tenant_id=tenant_id, amount_cents=50_000)
        await eventually(lambda: len(payments.requests) == 1)
        await asyncio.sleep(cooldown * 0.6)
        assert len(payments.requests) == 1
        await asyncio.sleep(cooldown * 2)
        times = [r.occurred_at for _, r in payments.requests]  # when billing decided
        assert 2 <= len(times) <= 4
        assert all((b - a).total_seconds() >= cooldown for a, b in itertools.pairwise(times))
        assert {r.amount_cents for _, r in payments.requests} == {5000}  # the customer's amount, not the gap
        assert payments.max_outstanding == 1
        await payments.stop()


async def test_lago_duplicate_pending_top_ups_every_five_minutes(nats_url, database_url, new_schema, tenant_id):
    """A charge still pending when the monitor runs again (here: every 50 ms, two replicas) and more
    debits arrive: still exactly one charge, shown as `in_flight`."""
    schema = new_schema()
    replicas = [billing(nats_url, database_url, schema, **{**FAST, "autotopup_monitor_s": 0.05}) for _ in range(2)]
    async with running(replicas[0]), running(replicas[1]), nats_client(nats_url) as nc:
        js = nc.jetstream()
        payments = await EmulatedPayments(js, HOLD).start()
        await payments.save_default_card(tenant_id)
        await enable_when_card_known(nc, tenant_id, threshold=1000)
        for i in range(20):
            await publish_usage(js, usage_id=f"{tenant_id}-{i}", tenant_id=tenant_id, amount_cents=100)
            await asyncio.sleep(0.1)
        await eventually(lambda: _equals(balance(nc, tenant_id), -2000))
        assert len(payments.requests) == 1
        assert (await view(nc, tenant_id)).state == "in_flight"
        await payments.stop()


async def test_lago_runaway_top_ups_for_weeks_unnoticed(nats_url, database_url, new_schema, tenant_id):
    """Charges that keep coming stop at the monthly limit, each one visible to the customer, and
    reaching the limit is told (once) rather than silently swallowed."""
    async with running(billing(nats_url, database_url, new_schema(), **FAST)), nats_client(nats_url) as nc:
        js = nc.jetstream()
        payments = await EmulatedPayments(js, PAID).start()
        events = await PortalCapture().start(nc, tenant_id)
        await payments.save_default_card(tenant_id)
        await enable_when_card_known(nc, tenant_id, threshold=1_000_000, amount=5000, limit=20_000)
        await publish_usage(js, usage_id=f"{tenant_id}-u", tenant_id=tenant_id, amount_cents=100)
        await eventually(lambda: len(events.of("failed")) == 1)
        await asyncio.sleep(1.0)
        assert sum(r.amount_cents for _, r in payments.requests) == 20_000  # never beyond the limit
        assert len(events.of("triggered")) == len(events.of("succeeded")) == 4  # every charge visible
        assert [e["data"]["reason"] for e in events.of("failed")] == ["monthly_limit"]
        assert await balance(nc, tenant_id) == 19_900
        state = await view(nc, tenant_id)
        assert (state.state, state.enabled, state.last_triggered_at is not None) == ("idle", True, True)
        await payments.stop()


async def test_lago_rule_silently_stopped_when_the_amount_exceeded_a_limit(
    nats_url, database_url, new_schema, tenant_id
):
    """An amount beyond the top-up limits or the monthly cap is refused when saved (a clear 4xx),
    never accepted and then skipped without a word; a cap reached at run time is told."""
    async with (
        running(billing(nats_url, database_url, new_schema(), topup_max_cents=20_000, **FAST)),
        nats_client(nats_url) as nc,
    ):
        js = nc.jetstream()
        payments = await EmulatedPayments(js, PAID).start()
        events = await PortalCapture().start(nc, tenant_id)
        await payments.save_default_card(tenant_id)
        await enable_when_card_known(nc, tenant_id, threshold=0, amount=5000, limit=5000)
        for amount, limit in ((20_001, 100_000), (6000, 5000)):
            with pytest.raises(ServiceError) as refused:
                await configure(nc, tenant_id, threshold=0, amount=amount, limit=limit)
            assert refused.value.code == "validation_error"
        assert ((await view(nc, tenant_id)).amount_cents, len(payments.requests)) == (5000, 0)  # unchanged

        await publish_usage(js, usage_id=f"{tenant_id}-1", tenant_id=tenant_id, amount_cents=500)
        await eventually(lambda: _equals(balance(nc, tenant_id), 4500))
        await publish_usage(js, usage_id=f"{tenant_id}-2", tenant_id=tenant_id, amount_cents=5000)
        told = await eventually(lambda: events.of("failed"))
        assert told[0]["data"]["reason"] == "monthly_limit"
        assert (await view(nc, tenant_id)).state == "idle"
        await payments.stop()


async def _equals(awaitable, expected) -> bool:
    return (await awaitable) == expected
