"""Auto top-up failures: declines back off and disable, SCA pauses with a link, the monthly cap."""

import asyncio

import pytest

from contracts.payments.v1 import TopupExpired
from runtime.messaging import ServiceError
from tests.integration.billing.autotopup_support import (
    HOLD,
    PAID,
    EmulatedPayments,
    PortalCapture,
    balance,
    configure,
    declined,
    enable_when_card_known,
    publish,
    sca,
    view,
)
from tests.support.stack import billing, eventually, nats_client, publish_usage, running

FAST = {"autotopup_monitor_s": 0.1, "autotopup_cooldown_s": 0, "autotopup_retry_s": "0.3,0.3"}


async def test_three_declines_disable_auto_topup_with_a_reason_and_tell_the_customer(
    nats_url, database_url, new_schema, tenant_id
):
    async with running(billing(nats_url, database_url, new_schema(), **FAST)), nats_client(nats_url) as nc:
        js = nc.jetstream()
        payments = await EmulatedPayments(js, declined(), duplicate=True).start()  # outcomes arrive twice
        events = await PortalCapture().start(nc, tenant_id)
        await payments.save_default_card(tenant_id)
        await enable_when_card_known(nc, tenant_id, threshold=1000)
        await publish_usage(js, usage_id=f"{tenant_id}-u", tenant_id=tenant_id, amount_cents=500)

        state = await eventually(lambda: _when(view(nc, tenant_id), lambda v: v.state == "disabled"), timeout=10)
        assert (state.enabled, state.consecutive_failures) == (False, 3)
        assert "card_declined" in state.disabled_reason
        await asyncio.sleep(1.0)  # the monitor keeps sweeping: a disabled rule charges nothing
        assert len(set(payments.trigger_ids())) == len(payments.requests) == 3  # a new trigger id per retry
        failed = events.of("failed")
        assert [e["data"]["reason"] for e in failed] == ["card_declined"] * 3
        assert [e["data"]["consecutive_failures"] for e in failed] == [1, 2, 3]
        assert [e["data"]["reason"] for e in events.of("disabled")] == [state.disabled_reason]
        assert await balance(nc, tenant_id) == -500

        payments.answer = PAID  # the customer fixes the card and switches it on again
        again = await configure(nc, tenant_id, threshold=1000)
        assert (again.enabled, again.consecutive_failures, again.disabled_reason) == (True, 0, None)
        await eventually(lambda: _equals(balance(nc, tenant_id), 4500))
        assert (await view(nc, tenant_id)).state == "idle"
        await payments.stop()


async def test_sca_pauses_with_a_payment_link_is_not_a_failure_and_resumes_after_the_payment(
    nats_url, database_url, new_schema, tenant_id
):
    async with running(billing(nats_url, database_url, new_schema(), **FAST)), nats_client(nats_url) as nc:
        js = nc.jetstream()
        link = "https://checkout.example/pay/cs_test_sca"
        payments = await EmulatedPayments(js, sca(link)).start()
        events = await PortalCapture().start(nc, tenant_id)
        await payments.save_default_card(tenant_id)
        await enable_when_card_known(nc, tenant_id, threshold=1000)
        await publish_usage(js, usage_id=f"{tenant_id}-u", tenant_id=tenant_id, amount_cents=500)

        paused = await eventually(lambda: _when(view(nc, tenant_id), lambda v: v.state == "paused"))
        assert (paused.action_url, paused.consecutive_failures, paused.enabled) == (link, 0, True)
        await asyncio.sleep(1.0)  # never retried blindly, never a second charge while paused
        assert len(payments.requests) == 1
        assert [e["data"]["action_url"] for e in events.of("paused")] == [link]
        assert events.of("failed") == []

        # The customer authenticates through the link: payments reports the same trigger as paid.
        await payments.resolve(payments.requests[0][1], "paid")
        await eventually(lambda: _equals(balance(nc, tenant_id), 4500))
        resumed = await eventually(lambda: _when(view(nc, tenant_id), lambda v: v.state == "idle"))
        assert (resumed.action_url, resumed.consecutive_failures) == (None, 0)
        await eventually(lambda: len(events.of("succeeded")) == 1)
        await payments.stop()


async def test_sca_paused_rule_resumes_when_a_new_default_card_is_saved(nats_url, database_url, new_schema, tenant_id):
    async with running(billing(nats_url, database_url, new_schema(), **FAST)), nats_client(nats_url) as nc:
        js = nc.jetstream()
        payments = await EmulatedPayments(js, sca()).start()
        await payments.save_default_card(tenant_id, "pm_old")
        await enable_when_card_known(nc, tenant_id, threshold=1000)
        await publish_usage(js, usage_id=f"{tenant_id}-u", tenant_id=tenant_id, amount_cents=500)
        await eventually(lambda: _when(view(nc, tenant_id), lambda v: v.state == "paused"))

        payments.answer = PAID
        await payments.save_default_card(tenant_id, "pm_new")
        await eventually(lambda: _equals(balance(nc, tenant_id), 4500))  # the monitor charged the new card
        assert [r.payment_method_id for _, r in payments.requests] == ["pm_old", "pm_new"]
        assert (await view(nc, tenant_id)).state == "idle"
        await payments.stop()


async def test_sca_paused_rule_whose_link_expired_resumes_its_normal_path_without_counting_a_failure(
    nats_url, database_url, new_schema, tenant_id
):
    """The customer never used the 24 h link: the paused charge is given up (not a failure), and the
    next decision point tries one new off-session charge (docs/architecture.md, auto top-up)."""
    async with running(billing(nats_url, database_url, new_schema(), **FAST)), nats_client(nats_url) as nc:
        js = nc.jetstream()
        payments = await EmulatedPayments(js, sca()).start()
        await payments.save_default_card(tenant_id)
        await enable_when_card_known(nc, tenant_id, threshold=1000)
        await publish_usage(js, usage_id=f"{tenant_id}-u", tenant_id=tenant_id, amount_cents=500)
        await eventually(lambda: _when(view(nc, tenant_id), lambda v: v.state == "paused"))
        first = payments.requests[0][1]

        payments.answer = PAID
        await publish(
            js,
            TopupExpired(
                tenant_id=tenant_id, topup_id=f"top_{first.trigger_id}"[:40], source="auto", trigger_id=first.trigger_id
            ),
        )

        await eventually(lambda: _equals(balance(nc, tenant_id), 4500))  # a new charge, same card, paid
        rule = await view(nc, tenant_id)
        assert (rule.state, rule.consecutive_failures, rule.action_url) == ("idle", 0, None)
        assert [r.trigger_id != first.trigger_id for _, r in payments.requests] == [False, True]
        await payments.stop()


async def test_monthly_cap_reached_makes_no_charge_tells_the_customer_once_and_stays_idle(
    nats_url, database_url, new_schema, tenant_id
):
    async with running(billing(nats_url, database_url, new_schema(), **FAST)), nats_client(nats_url) as nc:
        js = nc.jetstream()
        payments = await EmulatedPayments(js, PAID).start()
        events = await PortalCapture().start(nc, tenant_id)
        await payments.save_default_card(tenant_id)
        await enable_when_card_known(nc, tenant_id, threshold=100_000, amount=5000, limit=10_000)
        await publish_usage(js, usage_id=f"{tenant_id}-u", tenant_id=tenant_id, amount_cents=100)

        await eventually(lambda: len(events.of("failed")) == 1)
        await asyncio.sleep(1.0)  # ten more sweeps: no charge, no second message
        assert len(payments.requests) == 2
        assert await balance(nc, tenant_id) == 9900
        [told] = events.of("failed")
        assert told["data"]["reason"] == "monthly_limit"
        state = await view(nc, tenant_id)
        assert (state.state, state.consecutive_failures, state.enabled) == ("idle", 0, True)

        await configure(nc, tenant_id, threshold=100_000, amount=5000, limit=15_000)  # a higher limit
        await eventually(lambda: len(payments.requests) == 3)
        await eventually(lambda: len(events.of("failed")) == 2)  # the new limit is reached: told again
        await asyncio.sleep(0.5)
        assert len(payments.requests) == 3
        await payments.stop()


async def test_settings_are_validated_and_enabling_needs_a_default_card(nats_url, database_url, new_schema, tenant_id):
    async with running(billing(nats_url, database_url, new_schema(), **FAST)), nats_client(nats_url) as nc:
        js = nc.jetstream()
        payments = await EmulatedPayments(js, HOLD).start()
        assert (await view(nc, tenant_id)).state == "disabled"
        with pytest.raises(ServiceError) as refused:
            await configure(nc, tenant_id)
        assert refused.value.code == "conflict"
        for bad in ({"amount": 999}, {"amount": 1_000_001}, {"amount": 5000, "limit": 4000}):
            with pytest.raises(ServiceError) as invalid:
                await configure(nc, tenant_id, **bad)
            assert invalid.value.code == "validation_error"
        await payments.save_default_card(tenant_id)
        saved = await enable_when_card_known(nc, tenant_id, threshold=0, amount=7000, limit=21_000)
        assert (saved.enabled, saved.state, saved.threshold_cents, saved.amount_cents) == (True, "idle", 0, 7000)
        assert (await view(nc, tenant_id)).monthly_limit_cents == 21_000
        # Balance 0 is below a threshold of 20 €: saving decides at once, no need to wait for a debit.
        raised = await configure(nc, tenant_id, threshold=2000, amount=7000, limit=21_000)
        assert (raised.state, raised.last_triggered_at is not None) == ("in_flight", True)
        await eventually(lambda: len(payments.requests) == 1)
        await payments.stop()


async def _when(awaitable, predicate):
    value = await awaitable
    return value if predicate(value) else None


async def _equals(awaitable, expected) -> bool:
    return (await awaitable) == expected
