"""How long a paid top-up takes from the Stripe webhook's arrival at the gateway to the ledger commit
that credits it (payments accepts the event, re-reads it from Stripe, settles, publishes TopupPaid;
billing credits). Printed for the operator's notes (run with -s); the assertion only catches a
stuck pipeline, since the figure depends on the machine's load."""

import asyncio

import sqlalchemy as sa

from services.billing.tables import TopupCredit
from services.payments.tables import Topup
from tests.support.stack import create_tenant

from .support import open_stack, pay, percentile, start_topup, wait_balance

PAYMENTS = 30
LANES = 3
AMOUNT = 1_000  # below the first bonus tier: the balance is the plain sum


async def test_webhook_receipt_to_ledger_commit_latency(nats_url, database_url, new_schema, e2e_stripe, tmp_path):
    async with open_stack(
        nats_url=nats_url, database_url=database_url, new_schema=new_schema, emulator=e2e_stripe, tmp_path=tmp_path
    ) as stack:
        _, auth = await create_tenant(stack.http)
        topups = await asyncio.gather(*(start_topup(stack, auth, AMOUNT) for _ in range(PAYMENTS)))
        for lane in range(0, PAYMENTS, LANES):  # a few customers paying at a time, not a burst
            await asyncio.gather(
                *(pay(stack, t["checkout_url"], payment_method="pm_card_visa") for t in topups[lane : lane + LANES])
            )
        await wait_balance(stack, auth, PAYMENTS * AMOUNT, timeout=60)

        ids = [t["id"] for t in topups]
        credited = await _times(
            stack.billing, TopupCredit.__table__.c.topup_id, TopupCredit.__table__.c.credited_at, ids
        )
        settled = await _times(stack.payments, Topup.__table__.c.id, Topup.__table__.c.updated_at, ids)
        total, to_settle = [], []
        for topup_id in ids:
            received = min(r["at"] for r in stack.receipts if r.get("topup_id") == topup_id)
            committed = min(t for t in stack.commits if t >= credited[topup_id])
            total.append((committed - received) * 1000)
            to_settle.append((settled[topup_id] - received) * 1000)

    print(
        f"\nwebhook receipt -> ledger commit over {len(total)} payments: p50 {percentile(total, 50):.0f} ms, "
        f"p99 {percentile(total, 99):.0f} ms, max {max(total):.0f} ms "
        f"(of which receipt -> settled in payments: p50 {percentile(to_settle, 50):.0f} ms, "
        f"p99 {percentile(to_settle, 99):.0f} ms)"
    )
    assert len(total) == PAYMENTS and max(total) < 15_000


async def _times(service, key, at, ids: list[str]) -> dict[str, float]:
    async with service.db.sessions() as session:
        rows = await session.execute(sa.select(key, at).where(key.in_(ids)))
        return {row[0]: row[1].timestamp() for row in rows}
