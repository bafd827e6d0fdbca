"""What billing's books say about a tenant, read straight from its tables, and the messages it consumes."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from contracts.payments.v1 import PaymentRefunded, TopupPaid
from contracts.usage.v1 import UsageRecorded
from runtime.db import Database

NOW = datetime(2026, 11, 26, 10, tzinfo=UTC)


def usage(tenant_id: str, usage_id: str, cents: int) -> UsageRecorded:
    return UsageRecorded(id=usage_id, tenant_id=tenant_id, amount_cents=cents, occurred_at=NOW)


def paid(tenant_id: str, topup_id: str, cents: int, bonus: int | None = 0, **fields) -> TopupPaid:
    return TopupPaid(
        tenant_id=tenant_id,
        topup_id=topup_id,
        amount_cents=cents,
        bonus_cents=bonus,
        payment_intent_id=f"pi_{topup_id}",
        paid_at=NOW,
        **fields,
    )


def refunded(tenant_id: str, refund_id: str, topup_id: str, cents: int) -> PaymentRefunded:
    return PaymentRefunded(
        tenant_id=tenant_id,
        refund_id=refund_id,
        topup_id=topup_id,
        payment_intent_id="pi",
        amount_cents=cents,
        topup_amount_cents=0,
        refunded_at=NOW,
    )


async def balance(db: Database, tenant_id: str) -> int:
    async with db.sessions() as s:
        query = sa.text("SELECT balance_cents FROM accounts WHERE tenant_id = :t")
        return (await s.execute(query, {"t": tenant_id})).scalar() or 0


async def entries_total(db: Database, tenant_id: str) -> int:
    """Σ of the tenant's own ledger entries: what the balance must equal."""
    async with db.sessions() as s:
        query = sa.text("SELECT coalesce(sum(amount_cents), 0) FROM ledger_entries WHERE account = 'tenant:' || :t")
        return int((await s.execute(query, {"t": tenant_id})).scalar_one())


async def postings(db: Database, tenant_id: str) -> list[tuple[str, int, int]]:
    """(kind, amount, balance after) of each ledger transaction, in order."""
    async with db.sessions() as s:
        query = sa.text(
            "SELECT kind, amount_cents, balance_after_cents FROM ledger_transactions WHERE tenant_id = :t ORDER BY seq"
        )
        return [tuple(r) for r in (await s.execute(query, {"t": tenant_id})).all()]


async def unbalanced_transactions(db: Database, tenant_id: str) -> int:
    """Transactions whose two entries do not sum to zero (double entry broken)."""
    async with db.sessions() as s:
        query = sa.text(
            "SELECT count(*) FROM (SELECT e.transaction_id FROM ledger_entries e "
            "JOIN ledger_transactions x ON x.id = e.transaction_id WHERE x.tenant_id = :t "
            "GROUP BY 1 HAVING sum(e.amount_cents) <> 0) u"
        )
        return int((await s.execute(query, {"t": tenant_id})).scalar_one())
