"""Payments persistence operations: insert-first idempotency, row locks, lookups."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.tables import table_of
from services.payments.domain.refunds import RefundedSoFar
from services.payments.tables import PaymentMethod, Refund, RefundRequest, StripeCustomer, StripeEvent, Topup

topups = table_of(Topup)
customers = table_of(StripeCustomer)
cards = table_of(PaymentMethod)
refunds = table_of(Refund)
refund_requests = table_of(RefundRequest)
stripe_events = table_of(StripeEvent)


async def insert_new(session: AsyncSession, table, row: dict) -> bool:
    """Insert unless a unique key already exists; True when this call inserted the row."""
    pk = next(iter(table.primary_key.columns))
    stmt = pg_insert(table).values(row).on_conflict_do_nothing().returning(pk)
    return (await session.execute(stmt)).first() is not None


async def customer_id_of(session: AsyncSession, tenant_id: str, *, lock: bool = False) -> str | None:
    query = sa.select(customers.c.customer_id).where(customers.c.tenant_id == tenant_id)
    return (await session.execute(query.with_for_update() if lock else query)).scalar()


async def tenant_of_customer(session: AsyncSession, customer_id: str | None) -> str | None:
    if not customer_id:
        return None
    query = sa.select(customers.c.tenant_id).where(customers.c.customer_id == customer_id)
    return (await session.execute(query)).scalar()


async def topup_where(session: AsyncSession, *conditions, lock: bool = False) -> Topup | None:
    query = sa.select(Topup).where(*conditions).limit(1)
    return (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()


async def locked_topup(
    session: AsyncSession,
    *,
    topup_id: str | None = None,
    payment_intent_id: str | None = None,
    session_id: str | None = None,
) -> Topup | None:
    """The top-up an event is about, locked: by our id in metadata, else by the Stripe ids we stored."""
    for column, value in (
        (topups.c.id, topup_id),
        (topups.c.payment_intent_id, payment_intent_id),
        (topups.c.checkout_session_id, session_id),
    ):
        if value:
            found = await topup_where(session, column == value, lock=True)
            if found is not None:
                return found
    return None


async def cards_of(session: AsyncSession, tenant_id: str) -> list[PaymentMethod]:
    query = (
        sa.select(PaymentMethod)
        .where(PaymentMethod.tenant_id == tenant_id)
        .order_by(PaymentMethod.attached_at.desc(), PaymentMethod.id)
    )
    return list((await session.execute(query)).scalars())


async def default_card_id(session: AsyncSession, tenant_id: str) -> str | None:
    query = sa.select(cards.c.id).where(cards.c.tenant_id == tenant_id, cards.c.is_default.is_(True))
    return (await session.execute(query)).scalar()


async def mark_default(session: AsyncSession, tenant_id: str, card_id: str | None) -> None:
    stmt = (
        sa.update(cards)
        .where(cards.c.tenant_id == tenant_id)
        .values(is_default=sa.case((cards.c.id == card_id, True), else_=False))
    )
    await session.execute(stmt)


async def refunded_so_far(session: AsyncSession, topup_ids: list[str]) -> dict[str, RefundedSoFar]:
    """Per top-up: the refunds recorded and the amount held by requests Stripe has not settled (one
    statement for any number of top-ups); a top-up without either maps to RefundedSoFar()."""
    if not topup_ids:
        return {}
    recorded = sa.select(
        refunds.c.topup_id, refunds.c.amount_cents.label("recorded"), sa.literal(0, sa.BigInteger).label("held")
    ).where(refunds.c.topup_id.in_(topup_ids))
    held = sa.select(
        refund_requests.c.topup_id,
        sa.literal(0, sa.BigInteger).label("recorded"),
        refund_requests.c.amount_cents.label("held"),
    ).where(refund_requests.c.topup_id.in_(topup_ids), refund_requests.c.status == "pending")
    both = sa.union_all(recorded, held).subquery()
    query = sa.select(both.c.topup_id, sa.func.sum(both.c.recorded), sa.func.sum(both.c.held)).group_by(both.c.topup_id)
    found = {row[0]: RefundedSoFar(int(row[1]), int(row[2])) for row in await session.execute(query)}
    return {topup_id: found.get(topup_id, RefundedSoFar()) for topup_id in topup_ids}


async def refund_of_request(session: AsyncSession, request_id: str) -> Refund | None:
    query = sa.select(Refund).where(Refund.request_id == request_id).limit(1)
    return (await session.execute(query)).scalar_one_or_none()


async def answer_refund_request(session: AsyncSession, *, refund_id: str, request_id: str | None, status: str) -> bool:
    """A pending request learns how its refund ended (matched by our id in the refund's metadata, or by
    the Stripe id it stored), so its amount stops being held either way; True when one was pending."""
    match = refund_requests.c.stripe_refund_id == refund_id
    if request_id:
        match = sa.or_(match, refund_requests.c.id == request_id)
    answered = await session.execute(
        sa.update(refund_requests)
        .where(match, refund_requests.c.status == "pending")
        .values(
            status=status,
            stripe_refund_id=sa.func.coalesce(refund_requests.c.stripe_refund_id, refund_id),
            updated_at=sa.func.now(),
        )
        .returning(refund_requests.c.id)
    )
    return answered.first() is not None


async def claim_due_event(session: AsyncSession, *, now: datetime) -> StripeEvent | None:
    """The oldest stored event due for processing, locked; other workers skip it (SKIP LOCKED)."""
    query = (
        sa.select(StripeEvent)
        .where(StripeEvent.next_attempt_at.is_not(None), StripeEvent.next_attempt_at <= now)
        .order_by(StripeEvent.next_attempt_at, StripeEvent.received_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(query)).scalar_one_or_none()
