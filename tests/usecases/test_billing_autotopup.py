"""Auto top-up through billing's use cases: the debit that crosses the threshold requests one charge,
concurrent debits included; the paid charge credits and settles the rule; failures count and disable."""

import asyncio
from dataclasses import replace

from contracts.billing.v1 import UpdateAutoTopup
from contracts.payments.v1 import PaymentMethodChanged, TopupFailed
from services.billing import use_cases
from services.billing.autotopup import charge_answers, settings_api

from .billing_books import balance, paid, usage

REQUESTED = "billing.autotopup.requested.v1"


async def enabled_rule(
    billing, tenant_id: str, *, balance_cents: int = 3000, threshold: int = 2000, amount: int = 5000, limit: int = 50000
) -> None:
    """A saved default card, the rule switched on, and a balance above its threshold."""
    card = PaymentMethodChanged(
        tenant_id=tenant_id, change="default_changed", payment_method_id="pm_card", default_payment_method_id="pm_card"
    )
    await charge_answers.payment_method_changed(db=billing.db, policy=billing.autotopup, event=card)
    await use_cases.credit_topup(deps=billing, paid=paid(tenant_id, f"{tenant_id}-funds", balance_cents))
    await settings_api.update_settings(
        db=billing.db,
        policy=billing.autotopup,
        req=UpdateAutoTopup(
            tenant_id=tenant_id, enabled=True, threshold_cents=threshold, amount_cents=amount, monthly_limit_cents=limit
        ),
    )


async def state_of(billing, tenant_id: str):
    return await settings_api.get_settings(db=billing.db, tenant_id=tenant_id, policy=billing.autotopup)


async def debit(billing, tenant_id: str, usage_id: str, cents: int) -> None:
    await use_cases.record_usage(deps=billing, records=[usage(tenant_id, f"{tenant_id}-{usage_id}", cents)])


async def test_the_debit_that_crosses_the_threshold_requests_one_charge_of_the_saved_card(
    billing, billing_outbox, tenant_id
):
    await enabled_rule(billing, tenant_id)
    await debit(billing, tenant_id, "above", 500)  # 2500: still above the threshold
    assert await billing_outbox.on(REQUESTED) == []

    await debit(billing, tenant_id, "cross", 1000)  # 1500: below
    await debit(billing, tenant_id, "more", 1000)  # 500: the charge is in flight, nothing more

    [requested] = await billing_outbox.on(REQUESTED)
    assert (
        requested.payload["tenant_id"],
        requested.payload["amount_cents"],
        requested.payload["payment_method_id"],
    ) == (tenant_id, 5000, "pm_card")
    [triggered] = await billing_outbox.on("portal.autotopup.triggered.v1")
    assert triggered.data["trigger_id"] == requested.payload["trigger_id"]
    assert (await state_of(billing, tenant_id)).state == "in_flight"


async def test_two_concurrent_debits_across_the_threshold_request_one_charge(billing, billing_outbox, tenant_id):
    """Each debit runs in its own transaction on its own connection; they meet on the account lock.
    Ten tenants at once, so the two debits of a tenant really do race."""
    tenants = [f"{tenant_id}-{n}" for n in range(10)]
    for tenant in tenants:
        await enabled_rule(billing, tenant)
    await asyncio.gather(*(debit(billing, tenant, name, 1500) for tenant in tenants for name in ("a", "b")))

    requested = await billing_outbox.on(REQUESTED)
    assert sorted(r.payload["tenant_id"] for r in requested) == sorted(tenants)  # one each, none twice
    for tenant in tenants:
        assert await balance(billing.db, tenant) == 0


async def test_the_paid_charge_credits_its_amount_and_settles_the_rule_once(billing, billing_outbox, tenant_id):
    await enabled_rule(billing, tenant_id)
    await debit(billing, tenant_id, "cross", 2000)
    [requested] = await billing_outbox.on(REQUESTED)
    trigger_id = requested.payload["trigger_id"]
    charge = paid(tenant_id, f"{tenant_id}-auto", 5000, bonus=0, source="auto", trigger_id=trigger_id)

    assert [await use_cases.credit_topup(deps=billing, paid=charge) for _ in range(2)] == [True, False]
    assert await balance(billing.db, tenant_id) == 1000 + 5000
    view = await state_of(billing, tenant_id)
    assert (view.state, view.consecutive_failures) == ("idle", 0)
    assert len(await billing_outbox.on("portal.autotopup.succeeded.v1")) == 1


async def test_after_a_paid_charge_the_next_one_waits_for_the_cooldown(billing, billing_outbox, tenant_id):
    """One charge is not enough (amount smaller than the gap): no loop of charges, one per cooldown."""
    await enabled_rule(billing, tenant_id, amount=1000)
    await debit(billing, tenant_id, "big", 4000)  # -1000
    [first] = await billing_outbox.on(REQUESTED)
    await use_cases.credit_topup(
        deps=billing,
        paid=paid(tenant_id, f"{tenant_id}-auto1", 1000, source="auto", trigger_id=first.payload["trigger_id"]),
    )
    await debit(billing, tenant_id, "next", 10)  # still below the threshold, inside the 60 s cooldown
    assert len(await billing_outbox.on(REQUESTED)) == 1

    no_cooldown = replace(billing, autotopup=replace(billing.autotopup, cooldown_s=0))
    await use_cases.record_usage(deps=no_cooldown, records=[usage(tenant_id, f"{tenant_id}-later", 10)])
    assert len(await billing_outbox.on(REQUESTED)) == 2


async def test_a_charge_beyond_the_monthly_limit_is_not_made_and_the_customer_is_told_once(
    billing, billing_outbox, tenant_id
):
    await enabled_rule(billing, tenant_id, amount=5000, limit=5000)
    await debit(billing, tenant_id, "cross", 2000)
    [first] = await billing_outbox.on(REQUESTED)
    await use_cases.credit_topup(
        deps=billing,
        paid=paid(tenant_id, f"{tenant_id}-auto1", 5000, source="auto", trigger_id=first.payload["trigger_id"]),
    )
    no_cooldown = replace(billing, autotopup=replace(billing.autotopup, cooldown_s=0))
    for n in range(3):  # 6000 → 0 → -6000 → …: every one a decision point below the threshold
        await use_cases.record_usage(deps=no_cooldown, records=[usage(tenant_id, f"{tenant_id}-u{n}", 6000)])

    assert len(await billing_outbox.on(REQUESTED)) == 1
    limits = [e.data for e in await billing_outbox.on("portal.autotopup.failed.v1")]
    assert [(d["reason"], d["spent_this_month_cents"]) for d in limits] == [("monthly_limit", 5000)]
    assert (await state_of(billing, tenant_id)).state == "idle"


async def test_three_failed_charges_in_a_row_disable_the_rule_and_say_why(billing, billing_outbox, tenant_id):
    await enabled_rule(billing, tenant_id)
    no_wait = replace(billing, autotopup=replace(billing.autotopup, cooldown_s=0, retry_s=(0.0,)))
    for n in range(3):
        await use_cases.record_usage(deps=no_wait, records=[usage(tenant_id, f"{tenant_id}-u{n}", 1500)])
        requested = await billing_outbox.on(REQUESTED)
        assert len(requested) == n + 1
        failed = TopupFailed(
            tenant_id=tenant_id,
            topup_id=f"{tenant_id}-f{n}",
            amount_cents=5000,
            source="auto",
            trigger_id=requested[-1].payload["trigger_id"],
            reason_code="card_declined",
            reason="declined",
        )
        assert await charge_answers.charge_failed(db=billing.db, failed=failed, policy=no_wait.autotopup)
        assert not await charge_answers.charge_failed(db=billing.db, failed=failed, policy=no_wait.autotopup)

    view = await state_of(billing, tenant_id)
    assert (view.enabled, view.state, view.consecutive_failures) == (False, "disabled", 3)
    assert len(await billing_outbox.on("portal.autotopup.failed.v1")) == 3
    [disabled] = await billing_outbox.on("portal.autotopup.disabled.v1")
    assert disabled.data["reason_code"] == "card_declined"
    await use_cases.record_usage(deps=no_wait, records=[usage(tenant_id, f"{tenant_id}-after", 100)])
    assert len(await billing_outbox.on(REQUESTED)) == 3


async def test_a_charge_that_needs_authentication_pauses_without_counting_as_a_failure(
    billing, billing_outbox, tenant_id
):
    await enabled_rule(billing, tenant_id)
    await debit(billing, tenant_id, "cross", 2000)
    [requested] = await billing_outbox.on(REQUESTED)
    await charge_answers.charge_failed(
        db=billing.db,
        policy=billing.autotopup,
        failed=TopupFailed(
            tenant_id=tenant_id,
            topup_id=f"{tenant_id}-sca",
            amount_cents=5000,
            source="auto",
            trigger_id=requested.payload["trigger_id"],
            reason_code="authentication_required",
            reason="3DS",
            action_url="https://pay.example/sca",
        ),
    )

    view = await state_of(billing, tenant_id)
    assert (view.state, view.consecutive_failures, view.action_url) == ("paused", 0, "https://pay.example/sca")
    assert [e.data["action_url"] for e in await billing_outbox.on("portal.autotopup.paused.v1")] == [
        "https://pay.example/sca"
    ]
    assert await billing_outbox.on("portal.autotopup.failed.v1") == []
