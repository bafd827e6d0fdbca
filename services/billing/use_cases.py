"""Billing use cases: load → apply the domain → save state and outgoing events in one transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import utcnow
from contracts.billing.v1 import RefundRecorded, TopupCredited
from contracts.payments.v1 import PaymentRefunded, TopupPaid
from contracts.portal.v1 import PortalEvent
from contracts.usage.v1 import UsageRecorded
from runtime import outbox
from runtime.failures import Permanent, PrerequisiteMissing
from runtime.inbox import claim_new
from services.billing import bonus_grants, events, repository
from services.billing.autotopup import charge_answers
from services.billing.autotopup import trigger as autotopup_trigger
from services.billing.deps import BillingDeps
from services.billing.domain.bonus import bonus_to_reverse
from services.billing.domain.grants import Allocation, GrantBook
from services.billing.domain.ledger import AccountState, Applied, Posting, post
from services.billing.tables import Account, TopupCredit

USAGE_CONSUMER = "usage"


class Entry(NamedTuple):  # immutable, like the frozen dataclass it was, at a quarter of its cost per debit
    tenant_id: str
    posting: Posting
    occurred_at: datetime | None = None
    quantity: float | None = None


class Posted(NamedTuple):
    tx_id: str
    tenant_id: str
    applied: Applied


async def post_entries(session: AsyncSession, items: list[Entry], *, deps: BillingDeps) -> list[Posted]:
    """Lock the tenants' accounts, apply each posting in order, write entries, balances and events."""
    if not items:
        return []
    now = utcnow()
    states = await repository.lock_accounts(
        session, (i.tenant_id for i in items), now=now, default_threshold=deps.default_threshold_cents
    )
    grants = {  # read under the account locks: nobody else changes them until this transaction ends
        t: GrantBook(found, now=now)
        for t, found in (await repository.open_grants(session, _usage_debited(items), now=now)).items()
    }
    allocations: list[tuple[str, Allocation]] = []
    posted: list[Posted] = []
    out = outbox.Staged()
    stamp = events.Stamp(now)
    last_tx: dict[str, str] = {}
    rows = repository.PostingRows(now)
    random_ids = iter(events.random_hex_ids(2 * len(items)))  # as unique as new_id's uuid4, one system call
    balances = {t: s.balance_cents for t, s in states.items()}  # running, per posting
    for item in items:
        tenant_id, posting = item.tenant_id, item.posting
        state = states[tenant_id]
        applied = post(balances[tenant_id], state.threshold_cents, posting)
        balances[tenant_id] = applied.balance_after
        tx_id = f"txn_{next(random_ids)}"
        if tenant_id in grants and posting.kind == "usage" and posting.amount_cents < 0:
            allocations.extend((tx_id, a) for a in grants[tenant_id].draw(-posting.amount_cents))
        rows.add(tx_id, tenant_id, applied, item.occurred_at, item.quantity)
        posted.append(Posted(tx_id, tenant_id, applied))
        last_tx[tenant_id] = tx_id
        out.serialized(*events.transaction_created_row(tenant_id, tx_id, applied, stamp, f"evt_{next(random_ids)}"))
        for a in applied.alerts:
            out.event(
                events.alert(tenant_id, a, balance=applied.balance_after, threshold=state.threshold_cents, at=now)
            )
    await repository.insert_postings(session, rows)
    await repository.save_allocations(session, allocations)
    changed = {t: replace(states[t], balance_cents=balances[t]) for t in last_tx}  # once per tenant and batch
    await repository.save_balances(session, {t: s.balance_cents for t, s in changed.items()}, now=now)
    await autotopup_trigger.after_postings(session, changed, policy=deps.autotopup)  # under the same locks
    for event in _balance_events(changed, last_tx, now):
        out.event(event)
    await outbox.add_staged(session, out)
    return posted


def _usage_debited(items: list[Entry]) -> set[str]:
    """Tenants whose usage this batch debits: only usage draws from promotional grants."""
    return {i.tenant_id for i in items if i.posting.kind == "usage" and i.posting.amount_cents < 0}


def _balance_events(changed: dict[str, AccountState], last_tx: dict[str, str], now: datetime) -> list[PortalEvent]:
    """One `balance.updated` per tenant and batch, with the balance after the batch's last posting."""
    return [
        events.balance_updated(t, balance=s.balance_cents, available=s.available_cents, tx_id=last_tx[t], at=now)
        for t, s in changed.items()
    ]


def usage_posting(record: UsageRecorded) -> Posting:
    return Posting(
        kind="usage",
        amount_cents=-record.amount_cents,
        source_key=f"usage:{record.id}",
        description=record.description or f"{record.quantity:g} {record.unit}",
        reference=record.id,
    )


async def record_usage(*, deps: BillingDeps, records: list[UsageRecorded]) -> list[Posted]:
    """Debit each usage id exactly once, however often and concurrently it arrives."""
    async with deps.db.transaction() as session:
        fresh = await repository.claim_ids(session, consumer=USAGE_CONSUMER, message_ids=(r.id for r in records))
        seen: set[str] = set()
        items = []
        for r in records:
            if r.id in fresh and r.id not in seen:
                seen.add(r.id)
                items.append(Entry(r.tenant_id, usage_posting(r), r.occurred_at, r.quantity))
        return await post_entries(session, items, deps=deps)


async def credit_topup(*, deps: BillingDeps, paid: TopupPaid) -> bool:
    """Credit gross plus bonus once per top-up id and, when the payment is an auto top-up's charge,
    settle its rule in the same transaction: nobody sees the credit with the rule still `in_flight`.

    The rule moves on whether or not this call credited (a payment credited before is not credited
    twice, its rule still settles). Answers whether this call credited."""
    async with deps.db.transaction() as session:
        credited = await _credit(session, paid=paid, deps=deps)
        if paid.source == "auto" and paid.trigger_id:
            await charge_answers.charge_paid(session, paid=paid, trigger_id=paid.trigger_id)
        return credited


async def _credit(session: AsyncSession, *, paid: TopupPaid, deps: BillingDeps) -> bool:
    """The bonus is the one payments decided (`paid.bonus_cents`): billing never reads the tiers."""
    if paid.bonus_cents is None:
        raise Permanent(
            f"TopupPaid {paid.topup_id} carries no bonus_cents (sent by a payments of before "
            "2026-12): the reconciler sends it again with its bonus"
        )
    if not await claim_new(session, consumer="topup", message_ids=[paid.topup_id]):
        return False
    bonus = paid.bonus_cents
    label = "Automatische Aufladung" if paid.source == "auto" else "Aufladung"
    items = [
        Entry(
            paid.tenant_id, Posting("topup", paid.amount_cents, f"topup:{paid.topup_id}", label, paid.payment_intent_id)
        )
    ]
    if bonus:
        items.append(Entry(paid.tenant_id, Posting("bonus", bonus, f"bonus:{paid.topup_id}", "Bonus", paid.topup_id)))
    posted = await post_entries(session, items, deps=deps)
    if bonus and deps.bonus_expires_after_days is not None:
        await bonus_grants.grant_bonus(
            session,
            tenant_id=paid.tenant_id,
            topup_id=paid.topup_id,
            bonus_cents=bonus,
            transaction_id=posted[1].tx_id,
            deps=deps,
            now=utcnow(),
        )
    session.add(
        TopupCredit(
            topup_id=paid.topup_id,
            tenant_id=paid.tenant_id,
            amount_cents=paid.amount_cents,
            bonus_cents=bonus,
            source=paid.source,
            credited_at=utcnow(),
        )
    )
    await outbox.add(
        session,
        [
            TopupCredited(
                tenant_id=paid.tenant_id,
                topup_id=paid.topup_id,
                amount_cents=paid.amount_cents,
                bonus_cents=bonus,
                payment_reference=paid.payment_intent_id,
                paid_at=paid.paid_at,
                transaction_id=posted[0].tx_id,
                card_last4=paid.card_last4,
                correlation_id=paid.event_id,
            ),
            PortalEvent(
                type="topup.succeeded",
                tenant_id=paid.tenant_id,
                data={
                    "topup_id": paid.topup_id,
                    "amount_cents": paid.amount_cents,
                    "bonus_cents": bonus,
                    "source": paid.source,
                },
            ),
        ],
    )
    return True


async def record_refund(*, deps: BillingDeps, refund: PaymentRefunded) -> bool:
    """Debit the refund and reverse floor(B·R/A) of the bonus in total; once per refund id."""
    async with deps.db.transaction() as session:
        if not await claim_new(session, consumer="refund", message_ids=[refund.refund_id]):
            return False
        credit = await session.get(TopupCredit, refund.topup_id, with_for_update=True)
        if credit is None:  # the refund overtook its top-up's credit (another durable): wait for it
            raise PrerequisiteMissing(f"refund {refund.refund_id}: top-up {refund.topup_id} is not credited yet")
        amount = min(refund.amount_cents, credit.amount_cents - credit.refunded_cents)
        reverse = bonus_to_reverse(
            topup_cents=credit.amount_cents,
            bonus_cents=credit.bonus_cents,
            refunded_before=credit.refunded_cents,
            refund_cents=amount,
            reversed_before=credit.bonus_reversed_cents,
        )
        if reverse > 0:  # what of a bonus grant expired is not taken a second time (bonus_grants.py)
            await session.get(Account, refund.tenant_id, with_for_update=True)  # no expiry meanwhile
            expired = await bonus_grants.expired_part(session, tenant_id=refund.tenant_id, topup_id=refund.topup_id)
            reverse = min(reverse, max(credit.bonus_cents - expired - credit.bonus_reversed_cents, 0))
        items = []
        if amount > 0:
            items.append(
                Entry(
                    refund.tenant_id,
                    Posting("refund", -amount, f"refund:{refund.refund_id}", "Erstattung", refund.refund_id),
                )
            )
        if reverse > 0:
            items.append(
                Entry(
                    refund.tenant_id,
                    Posting("bonus", -reverse, f"bonus-reversal:{refund.refund_id}", "Bonus-Storno", refund.topup_id),
                )
            )
        posted = await post_entries(session, items, deps=deps)
        if reverse > 0:
            await bonus_grants.take_back(
                session,
                tenant_id=refund.tenant_id,
                topup_id=refund.topup_id,
                cents=reverse,
                transaction_id=posted[-1].tx_id,
            )
        credit.refunded_cents += amount
        credit.bonus_reversed_cents += reverse
        session.add(credit)
        if posted:
            await outbox.add(
                session,
                [
                    RefundRecorded(
                        tenant_id=refund.tenant_id,
                        refund_id=refund.refund_id,
                        topup_id=refund.topup_id,
                        amount_cents=amount,
                        bonus_reversed_cents=reverse,
                        refunded_at=refund.refunded_at,
                        transaction_id=posted[0].tx_id,
                        correlation_id=refund.event_id,
                    )
                ],
            )
        return True
