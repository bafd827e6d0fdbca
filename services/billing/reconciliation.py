"""What the ledger holds for payments' reconciler (rpc.billing.reconcile.v1): which top-ups it
credited, which refunds it recorded, and with which amounts — read-only."""

from __future__ import annotations

import sqlalchemy as sa

from contracts.billing.v1 import LedgerCredit, LedgerReconciliation, LedgerRefund
from runtime.db import Database
from runtime.tables import inbox, table_of
from services.billing import repository
from services.billing.tables import TopupCredit

tx = repository.transactions
REFUND_CONSUMER = "refund"  # use_cases.record_refund claims refund ids under this inbox consumer


async def reconcile(*, db: Database, topup_ids: list[str], refund_ids: list[str]) -> LedgerReconciliation:
    async with db.sessions() as session:
        credits = await _credits(session, topup_ids) if topup_ids else []
        refunds = await _refunds(session, refund_ids) if refund_ids else []
    return LedgerReconciliation(credits=credits, refunds=refunds)


async def _credits(session, topup_ids: list[str]) -> list[LedgerCredit]:
    query = sa.select(TopupCredit).where(table_of(TopupCredit).c.topup_id.in_(topup_ids))
    rows = (await session.execute(query)).scalars().all()
    keys = {f"topup:{r.topup_id}": r.topup_id for r in rows}
    posted = await _transactions(session, list(keys))
    return [
        LedgerCredit(
            topup_id=r.topup_id,
            tenant_id=r.tenant_id,
            amount_cents=r.amount_cents,
            bonus_cents=r.bonus_cents,
            transaction_id=posted[f"topup:{r.topup_id}"][0],
        )
        for r in rows
        if f"topup:{r.topup_id}" in posted
    ]


async def _refunds(session, refund_ids: list[str]) -> list[LedgerRefund]:
    claimed = (
        (
            await session.execute(
                sa.select(inbox.c.message_id).where(
                    inbox.c.consumer == REFUND_CONSUMER, inbox.c.message_id.in_(refund_ids)
                )
            )
        )
        .scalars()
        .all()
    )
    keys = [f"refund:{i}" for i in claimed] + [f"bonus-reversal:{i}" for i in claimed]
    posted = await _transactions(session, keys)
    found = []
    for refund_id in claimed:
        refund_tx, refund_cents = posted.get(f"refund:{refund_id}", (None, 0))
        _, reversed_cents = posted.get(f"bonus-reversal:{refund_id}", (None, 0))
        found.append(
            LedgerRefund(
                refund_id=refund_id,
                amount_cents=-refund_cents,
                bonus_reversed_cents=-reversed_cents,
                transaction_id=refund_tx,
            )
        )
    return found


async def _transactions(session, source_keys: list[str]) -> dict[str, tuple[str, int]]:
    if not source_keys:
        return {}
    rows = await session.execute(
        sa.select(tx.c.source_key, tx.c.id, tx.c.amount_cents).where(tx.c.source_key.in_(source_keys))
    )
    return {r.source_key: (r.id, r.amount_cents) for r in rows}
