"""Billing's money rules through its use cases: usage debits, top-up credits with their bonus, refunds."""

import asyncio

import pytest

from runtime.failures import Permanent, PrerequisiteMissing
from services.billing import use_cases

from .billing_books import balance, entries_total, paid, postings, refunded, unbalanced_transactions, usage


async def test_usage_debits_its_exact_amount_in_double_entry(billing, billing_outbox, tenant_id):
    await use_cases.record_usage(deps=billing, records=[usage(tenant_id, f"{tenant_id}-u1", 250)])

    assert await postings(billing.db, tenant_id) == [("usage", -250, -250)]
    assert await balance(billing.db, tenant_id) == await entries_total(billing.db, tenant_id) == -250
    assert await unbalanced_transactions(billing.db, tenant_id) == 0
    created = await billing_outbox.on("portal.transaction.created.v1")
    assert [(e.data["kind"], e.data["amount_cents"]) for e in created] == [("usage", -250)]
    updated = await billing_outbox.on("portal.balance.updated.v1")
    assert [e.data["balance_cents"] for e in updated] == [-250]


async def test_same_usage_id_debits_once_however_it_arrives(billing, billing_outbox, tenant_id):
    record = usage(tenant_id, f"{tenant_id}-dup", 100)
    await use_cases.record_usage(deps=billing, records=[record, record])  # twice in one batch
    await use_cases.record_usage(deps=billing, records=[record])  # redelivered later
    await asyncio.gather(*(use_cases.record_usage(deps=billing, records=[record]) for _ in range(3)))  # racing

    assert await postings(billing.db, tenant_id) == [("usage", -100, -100)]
    assert len(await billing_outbox.on("portal.transaction.created.v1")) == 1


async def test_usage_beyond_the_balance_is_debited_and_alerts_once_per_crossing(billing, billing_outbox, tenant_id):
    """PRODUCT.md: consumed usage is never rejected; the balance goes below zero and the product says so
    (balance.low below the threshold, balance.depleted at ≤ 0), once per crossing, not per debit."""
    await use_cases.credit_topup(deps=billing, paid=paid(tenant_id, f"{tenant_id}-t", 1500))
    for n, cents in enumerate((400, 600, 700, 300)):  # 1500 → 1100 → 500 → -200 → -500
        await use_cases.record_usage(deps=billing, records=[usage(tenant_id, f"{tenant_id}-u{n}", cents)])

    assert await balance(billing.db, tenant_id) == await entries_total(billing.db, tenant_id) == -500
    alerts = [
        (p.subject, p.data["balance_cents"])
        for p in await billing_outbox.all()
        if p.subject in ("portal.balance.low.v1", "portal.balance.depleted.v1")
    ]
    assert alerts == [("portal.balance.low.v1", 500), ("portal.balance.depleted.v1", -200)]


async def test_topup_credits_its_amount_and_exactly_the_bonus_payments_decided(billing, billing_outbox, tenant_id):
    topup_id = f"{tenant_id}-t1"
    # 777 is no tier's bonus: billing credits what TopupPaid carries and never recomputes it
    assert await use_cases.credit_topup(deps=billing, paid=paid(tenant_id, topup_id, 10000, bonus=777))

    assert await postings(billing.db, tenant_id) == [("topup", 10000, 10000), ("bonus", 777, 10777)]
    assert await entries_total(billing.db, tenant_id) == 10777
    [credited] = await billing_outbox.on("billing.topup.credited.v1")
    assert (credited.payload["topup_id"], credited.payload["amount_cents"], credited.payload["bonus_cents"]) == (
        topup_id,
        10000,
        777,
    )
    [succeeded] = await billing_outbox.on("portal.topup.succeeded.v1")
    assert succeeded.data["bonus_cents"] == 777


async def test_same_topup_paid_twice_credits_once(billing, billing_outbox, tenant_id):
    message = paid(tenant_id, f"{tenant_id}-t1", 5000, bonus=0)
    answers = [await use_cases.credit_topup(deps=billing, paid=message) for _ in range(2)]
    answers += await asyncio.gather(*(use_cases.credit_topup(deps=billing, paid=message) for _ in range(3)))

    assert answers == [True, False, False, False, False]
    assert await postings(billing.db, tenant_id) == [("topup", 5000, 5000)]  # no bonus entry for a zero bonus
    assert len(await billing_outbox.on("billing.topup.credited.v1")) == 1


async def test_topup_paid_without_a_bonus_is_refused_and_credits_nothing(billing, billing_outbox, tenant_id):
    with pytest.raises(Permanent):
        await use_cases.credit_topup(deps=billing, paid=paid(tenant_id, f"{tenant_id}-old", 5000, bonus=None))

    assert await postings(billing.db, tenant_id) == []
    assert await billing_outbox.all() == []


async def test_partial_refunds_reverse_the_bonus_share_and_add_up_to_all_of_it(billing, billing_outbox, tenant_id):
    """After refunds totalling R of a top-up A with bonus B, exactly floor(B·R/A) is reversed."""
    topup_id = f"{tenant_id}-t1"
    await use_cases.credit_topup(deps=billing, paid=paid(tenant_id, topup_id, 10000, bonus=500))
    await use_cases.record_refund(deps=billing, refund=refunded(tenant_id, f"{tenant_id}-r1", topup_id, 3333))
    # floor(500·3333/10000) = 166
    assert (await postings(billing.db, tenant_id))[2:] == [("refund", -3333, 7167), ("bonus", -166, 7001)]

    await use_cases.record_refund(deps=billing, refund=refunded(tenant_id, f"{tenant_id}-r2", topup_id, 6667))
    assert (await postings(billing.db, tenant_id))[4:] == [("refund", -6667, 334), ("bonus", -334, 0)]
    assert await balance(billing.db, tenant_id) == await entries_total(billing.db, tenant_id) == 0
    recorded = await billing_outbox.on("billing.refund.recorded.v1")
    assert [(r.payload["amount_cents"], r.payload["bonus_reversed_cents"]) for r in recorded] == [
        (3333, 166),
        (6667, 334),
    ]


async def test_same_refund_twice_is_recorded_once(billing, billing_outbox, tenant_id):
    topup_id = f"{tenant_id}-t1"
    await use_cases.credit_topup(deps=billing, paid=paid(tenant_id, topup_id, 10000, bonus=1000))
    refund = refunded(tenant_id, f"{tenant_id}-r1", topup_id, 5000)
    answers = await asyncio.gather(*(use_cases.record_refund(deps=billing, refund=refund) for _ in range(3)))

    assert sorted(answers) == [False, False, True]
    assert await balance(billing.db, tenant_id) == 11000 - 5000 - 500
    assert len(await billing_outbox.on("billing.refund.recorded.v1")) == 1


async def test_refund_beyond_what_is_left_of_the_topup_debits_only_the_rest(billing, tenant_id):
    topup_id = f"{tenant_id}-t1"
    await use_cases.credit_topup(deps=billing, paid=paid(tenant_id, topup_id, 10000, bonus=500))
    await use_cases.record_refund(deps=billing, refund=refunded(tenant_id, f"{tenant_id}-r1", topup_id, 8000))
    await use_cases.record_refund(deps=billing, refund=refunded(tenant_id, f"{tenant_id}-r2", topup_id, 8000))

    refunds = [p for p in await postings(billing.db, tenant_id) if p[0] == "refund"]
    assert [amount for _, amount, _ in refunds] == [-8000, -2000]
    assert await balance(billing.db, tenant_id) == 0  # all of the top-up and all of its bonus are back


async def test_refund_that_overtook_its_credit_waits_and_then_applies(billing, tenant_id):
    topup_id = f"{tenant_id}-t1"
    refund = refunded(tenant_id, f"{tenant_id}-r1", topup_id, 2000)
    with pytest.raises(PrerequisiteMissing):  # retried by the consumer until the credit is there
        await use_cases.record_refund(deps=billing, refund=refund)
    assert await postings(billing.db, tenant_id) == []

    await use_cases.credit_topup(deps=billing, paid=paid(tenant_id, topup_id, 10000, bonus=500))
    assert await use_cases.record_refund(deps=billing, refund=refund)  # the failed try claimed nothing
    assert await balance(billing.db, tenant_id) == 10500 - 2000 - 100
