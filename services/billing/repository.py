"""Billing persistence operations. Accounts are locked in tenant order, so batches never deadlock.

On PostgreSQL every batch statement is one constant SQL text taking arrays (`unnest`): compiled
once, one round trip, whatever the batch size — SQLAlchemy's multi-row VALUES recompiled per batch
cost more CPU than the whole rest of a debit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db import COPY_FROM, copy_rows
from runtime.tables import table_of
from services.billing import fastpath
from services.billing.domain.grants import Allocation, OpenGrant
from services.billing.domain.ledger import AccountState, Applied, double_entries
from services.billing.tables import Account, Hold, LedgerEntry, LedgerTransaction

accounts = table_of(Account)
transactions = table_of(LedgerTransaction)
entries = table_of(LedgerEntry)
holds = table_of(Hold)


async def claim_ids(session: AsyncSession, *, consumer: str, message_ids: Iterable[str]) -> set[str]:
    """`runtime.inbox.claim_new` (same table, same key space) as one array statement.
    Ids are claimed in sorted order, so two batches sharing ids never deadlock on the inbox keys."""
    ids = sorted(set(message_ids))
    if not ids:
        return set()
    result = await session.execute(fastpath.CLAIM, {"consumer": consumer, "ids": ids, "now": fastpath.now()})
    return {row[0] for row in result}


async def lock_accounts(
    session: AsyncSession, tenant_ids: Iterable[str], *, now: datetime, default_threshold: int
) -> dict[str, AccountState]:
    """Lock (creating when missing) the accounts of `tenant_ids`; answer their state incl. holds."""
    ids = sorted(set(tenant_ids))
    if not ids:
        return {}
    params = {"ids": ids, "threshold": default_threshold, "now": now}
    await session.execute(fastpath.CREATE_ACCOUNTS, params)
    rows = (await session.execute(fastpath.LOCK_ACCOUNTS, params)).all()
    held = await held_cents(session, ids, now=now)
    return {
        r.tenant_id: AccountState(r.tenant_id, r.balance_cents, held.get(r.tenant_id, 0), r.low_balance_threshold_cents)
        for r in rows
    }


async def held_cents(session: AsyncSession, tenant_ids: list[str], *, now: datetime) -> dict[str, int]:
    rows = (await session.execute(fastpath.HELD, {"ids": list(tenant_ids), "now": now})).all()
    return {t: int(v) for t, v in rows}


class PostingRows:
    """The rows of one batch's postings as they are made: a ledger transaction and its two entries each."""

    __slots__ = ("entries", "now", "transactions")

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.transactions: list[tuple] = []  # in fastpath.TX_COLUMNS order
        self.entries: list[tuple] = []  # in fastpath.ENTRY_COLUMNS order

    def add(self, tx_id: str, tenant_id: str, applied: Applied, occurred_at: datetime | None, quantity) -> None:
        p = applied.posting
        self.transactions.append(
            (
                tx_id,
                tenant_id,
                p.kind,
                p.amount_cents,
                applied.balance_after,
                p.description,
                p.reference,
                p.source_key,
                quantity,
                occurred_at or self.now,
                self.now,
            )
        )
        for account, amount in double_entries(tenant_id, p):
            self.entries.append((tx_id, account, amount))


async def insert_postings(session: AsyncSession, rows: PostingRows) -> None:
    """A batch's transactions and entries: COPY from `runtime.db.COPY_FROM` rows on (a debit batch), else one
    array statement each (a top-up, an adjustment: one round trip instead of COPY's two)."""
    if not rows.transactions:
        return
    if len(rows.transactions) >= COPY_FROM:
        await copy_rows(session, "ledger_transactions", fastpath.TX_COLUMNS, rows.transactions)
        await copy_rows(session, "ledger_entries", fastpath.ENTRY_COLUMNS, rows.entries)
        return
    await session.execute(fastpath.INSERT_TRANSACTIONS, fastpath.transposed(rows.transactions, fastpath.TX_COLUMNS))
    await session.execute(fastpath.INSERT_ENTRIES, fastpath.transposed(rows.entries, fastpath.ENTRY_COLUMNS))


async def save_balances(session: AsyncSession, balances: dict[str, int], *, now: datetime) -> None:
    if not balances:
        return
    await session.execute(fastpath.SAVE_BALANCES, {"ids": list(balances), "bals": list(balances.values()), "now": now})


async def open_grants(session: AsyncSession, tenant_ids: set[str], *, now: datetime) -> dict[str, list[OpenGrant]]:
    """The drawable grants of the (locked) tenants' accounts; tenants without any are absent."""
    if not tenant_ids:
        return {}
    rows = (await session.execute(fastpath.OPEN_GRANTS, {"ids": sorted(tenant_ids), "now": now})).all()
    found: dict[str, list[OpenGrant]] = {}
    for r in rows:
        found.setdefault(r.tenant_id, []).append(
            OpenGrant(r.id, int(r.remaining_cents), r.priority, r.expires_at, r.created_at)
        )
    return found


async def save_allocations(session: AsyncSession, allocations: list[tuple[str, Allocation]]) -> None:
    """(transaction id, allocation) pairs: one row each, and each grant lowered by what it gave."""
    if not allocations:
        return
    used: dict[str, int] = {}
    for _, a in allocations:
        used[a.grant_id] = used.get(a.grant_id, 0) + a.amount_cents
    await session.execute(fastpath.DRAW_GRANTS, {"ids": list(used), "used": list(used.values())})
    rows = [{"transaction_id": tx, "grant_id": a.grant_id, "amount_cents": a.amount_cents} for tx, a in allocations]
    await session.execute(fastpath.INSERT_ALLOCATIONS, fastpath.columns(rows, fastpath.ALLOCATION_COLUMNS))
