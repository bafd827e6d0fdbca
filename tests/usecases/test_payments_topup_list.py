"""The operator's list of a tenant's top-ups (rpc.payments.topup.list.v1): newest first in pages, only
the tenant's own, and for each what was refunded or is held by a pending refund and what may still be
refunded — the same amount the refund request itself allows, for two statements a page."""

import asyncio
import uuid

import pytest

from contracts.payments.v1 import ListTopups
from runtime.refusals import Invalid
from services.payments import checkout_topups, refunds, webhooks
from services.payments.domain.refunds import RefundRefused

from .test_billing_tenant_overview import counted_statements
from .test_payments_topups import CONFIG, create, deliver, process_all, stripe_events


@pytest.fixture
def workers(payments_db, stripe) -> webhooks.WebhookWorkers:
    return webhooks.WebhookWorkers(payments_db, stripe, CONFIG.portal_url)


async def paid(stripe_emulator, payments_db, stripe, workers, tenant_id: str, cents: int, key: str):
    """A Checkout top-up paid at Stripe and settled from its webhook."""
    reply = await create(payments_db, stripe, tenant_id, cents, key=key)
    session_id = reply.topup.checkout_url.rstrip("/").rsplit("/", 1)[-1]
    await asyncio.to_thread(stripe_emulator.pay_checkout_session, session_id)
    events = await stripe_events(stripe_emulator, reply.topup.id)
    await deliver(payments_db, events["payment_intent.succeeded"])
    await process_all(workers)
    return reply.topup


async def refund(payments_db, stripe, topup_id: str, cents: int):
    return await refunds.refund_topup(
        db=payments_db,
        adapter=stripe,
        topup_id=topup_id,
        amount_cents=cents,
        reason="Kulanz",
        idempotency_key=uuid.uuid4().hex,
        requested_by="admin",
    )


async def listed(payments_db, tenant_id: str, **page) -> tuple[list[tuple], str | None]:
    reply = await checkout_topups.list_topups(db=payments_db, req=ListTopups(tenant_id=tenant_id, **page))
    rows = [
        (t.id, t.status, t.source, t.amount_cents, t.bonus_cents, t.refunded_cents, t.refundable_cents)
        for t in reply.items
    ]
    return rows, reply.next_cursor


async def test_newest_first_in_pages_with_what_each_refunded_and_may_still_refund(
    payments_db, stripe, stripe_emulator, workers, tenant_id
):
    other = f"ten_{uuid.uuid4().hex[:16]}"
    theirs = await paid(stripe_emulator, payments_db, stripe, workers, other, 10_000, "theirs")
    first = await paid(stripe_emulator, payments_db, stripe, workers, tenant_id, 10_000, "first")
    unpaid = (await create(payments_db, stripe, tenant_id, 5_000, key="unpaid")).topup
    last = await paid(stripe_emulator, payments_db, stripe, workers, tenant_id, 20_000, "last")

    partial = await refund(payments_db, stripe, first.id, 3_000)
    stripe_emulator.pending_refunds(True)
    try:
        pending = await refund(payments_db, stripe, last.id, 5_000)
    finally:
        stripe_emulator.pending_refunds(False)
    assert (partial.refund.status, pending.refund.status) == ("succeeded", "pending")

    everything, cursor = await listed(payments_db, tenant_id)
    assert cursor is None
    assert everything == [
        (last.id, "succeeded", "checkout", 20_000, 1_000, 5_000, 15_000),  # held by the pending refund
        (unpaid.id, "pending", "checkout", 5_000, 0, 0, 0),  # never paid: nothing to refund
        (first.id, "succeeded", "checkout", 10_000, 500, 3_000, 7_000),
    ]
    page_one, cursor = await listed(payments_db, tenant_id, limit=2)
    page_two, end = await listed(payments_db, tenant_id, limit=2, cursor=cursor)
    assert (page_one + page_two, end) == (everything, None) and cursor is not None
    assert theirs.id not in {row[0] for row in everything}
    assert [row[0] for row in (await listed(payments_db, other))[0]] == [theirs.id]

    # what the list says is refundable is exactly what a refund may ask for, held amounts included
    for topup_id, refundable in ((first.id, 7_000), (last.id, 15_000)):
        with pytest.raises(RefundRefused, match=f"the {refundable} that remain refundable"):
            await refund(payments_db, stripe, topup_id, refundable + 1)
    assert (await refund(payments_db, stripe, first.id, 7_000)).refund.status == "succeeded"
    assert (await listed(payments_db, tenant_id))[0][2] == (first.id, "refunded", "checkout", 10_000, 500, 10_000, 0)


async def test_a_page_costs_two_statements_whatever_its_size(payments_db, stripe, stripe_emulator, workers, tenant_id):
    topups = [await paid(stripe_emulator, payments_db, stripe, workers, tenant_id, 10_000, "p0")]
    await refund(payments_db, stripe, topups[0].id, 1_000)
    for n in range(1, 8):
        topups.append((await create(payments_db, stripe, tenant_id, 1_000 * (n + 10), key=f"p{n}")).topup)

    counts = {}
    for limit in (2, 8):
        with counted_statements(payments_db) as statements:
            reply = await checkout_topups.list_topups(db=payments_db, req=ListTopups(tenant_id=tenant_id, limit=limit))
        counts[limit] = len(statements)
        assert [t.id for t in reply.items] == [t.id for t in reversed(topups)][:limit]
    assert counts == {2: 2, 8: 2}  # the page, then its refunds: never one per top-up


async def test_a_cursor_that_is_not_one_of_ours_is_refused(payments_db, tenant_id):
    with pytest.raises(Invalid):
        await checkout_topups.list_topups(db=payments_db, req=ListTopups(tenant_id=tenant_id, cursor="not-a-cursor"))
