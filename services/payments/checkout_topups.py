"""Top-up use cases for the gateway: create (idempotent end to end) and read."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from contracts.base import new_id, utcnow
from contracts.payments.v1 import (
    BonusTierView,
    CreateTopupReply,
    LastTopupReply,
    LastTopupView,
    ListTopups,
    TopupLine,
    TopupPage,
    TopupQuote,
    TopupView,
)
from runtime.db import Database
from runtime.keyset import decode_cursor, encode_cursor
from runtime.tables import table_of
from services.payments import cards, repository
from services.payments.domain import refunds as refund_rules
from services.payments.domain import topups as rules
from services.payments.domain.bonus import BonusTier, bonus_for
from services.payments.stripe.client import StripeAdapter
from services.payments.tables import Topup


class TopupNotFound(LookupError):
    pass


@dataclass(frozen=True)
class CheckoutConfig:
    limits: rules.Limits
    tiers: tuple[BonusTier, ...]
    portal_url: Callable[[str, str], str]  # (topup_id, "success" | "cancel") -> portal page


def stripe_key(kind: str, *parts: str) -> str:
    """An idempotency key for Stripe derived from ours: stable, bounded, no raw customer input."""
    return f"{kind}-" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:48]


def topup_view(topup: Topup) -> TopupView:
    return TopupView(
        id=topup.id,
        status=topup.status,
        amount_cents=topup.amount_cents,
        bonus_cents=topup.bonus_cents,
        failure_reason=topup.failure_reason,
        invoice_id=topup.invoice_id,
        checkout_url=topup.checkout_url if topup.status in ("pending", "failed") else None,
    )


async def _claim_key(db: Database, *, tenant_id: str, key: str, amount_cents: int, bonus: int) -> tuple[Topup, bool]:
    """Insert-first: the unique (tenant, key) decides which concurrent request owns the top-up."""
    now = utcnow()
    row = {
        "id": new_id("top_")[:40],
        "tenant_id": tenant_id,
        "source": "checkout",
        "idempotency_key": key,
        "amount_cents": amount_cents,
        "bonus_cents": bonus,
        "status": "pending",
        "created_at": now,
        "updated_at": now,
    }
    async with db.transaction() as session:
        created = await repository.insert_new(session, table_of(Topup), row)
        topup = await repository.topup_where(session, Topup.tenant_id == tenant_id, Topup.idempotency_key == key)
    assert topup is not None
    rules.check_same_request(stored_amount_cents=topup.amount_cents, amount_cents=amount_cents)
    return topup, created


async def create_topup(
    *,
    db: Database,
    adapter: StripeAdapter,
    config: CheckoutConfig,
    tenant_id: str,
    amount_cents: int,
    idempotency_key: str,
    customer_email: str | None = None,
    customer_name: str | None = None,
) -> CreateTopupReply:
    rules.check_amount(amount_cents, config.limits)
    bonus = bonus_for(amount_cents, config.tiers)
    topup, created = await _claim_key(
        db, tenant_id=tenant_id, key=idempotency_key, amount_cents=amount_cents, bonus=bonus
    )
    if topup.checkout_session_id is None and topup.status == "pending":
        topup = await _open_checkout(
            db=db, adapter=adapter, config=config, topup=topup, email=customer_email, name=customer_name
        )
    return CreateTopupReply(topup=topup_view(topup), created=created)


async def _open_checkout(
    *, db: Database, adapter: StripeAdapter, config: CheckoutConfig, topup: Topup, email: str | None, name: str | None
) -> Topup:
    """Every request holding the key asks Stripe with the same derived key: one Checkout Session."""
    customer_id = await cards.ensure_customer(db=db, adapter=adapter, tenant_id=topup.tenant_id, email=email, name=name)
    session = await adapter.create_checkout_session(
        customer_id=customer_id,
        amount_cents=topup.amount_cents,
        metadata={"tenant_id": topup.tenant_id, "topup_id": topup.id},
        success_url=config.portal_url(topup.id, "success"),
        cancel_url=config.portal_url(topup.id, "cancel"),
        idempotency_key=stripe_key("checkout", topup.tenant_id, topup.idempotency_key or topup.id),
    )
    async with db.transaction() as tx:
        await tx.execute(
            sa.update(Topup)
            .where(Topup.id == topup.id, Topup.checkout_session_id.is_(None))
            .values(checkout_session_id=session.id, checkout_url=session.url, updated_at=utcnow())
        )
        return await repository.topup_where(tx, Topup.id == topup.id) or topup


def quote_topup(*, config: CheckoutConfig, amount_cents: int | None) -> TopupQuote:
    """The bonus a top-up of `amount_cents` would get, with the limits and tiers (the portal's preview)."""
    bonus = bonus_for(amount_cents, config.tiers) if amount_cents else None
    return TopupQuote(
        min_cents=config.limits.min_cents,
        max_cents=config.limits.max_cents,
        tiers=[BonusTierView(min_cents=t.min_cents, percent=t.percent) for t in config.tiers],
        amount_cents=amount_cents,
        bonus_cents=bonus,
    )


async def get_topup(*, db: Database, tenant_id: str, topup_id: str) -> CreateTopupReply:
    async with db.sessions() as session:
        topup = await repository.topup_where(session, Topup.id == topup_id, Topup.tenant_id == tenant_id)
    if topup is None:
        raise TopupNotFound(f"no top-up {topup_id}")
    return CreateTopupReply(topup=topup_view(topup), created=False)


async def last_topup(*, db: Database, tenant_id: str) -> LastTopupReply:
    """The operator's overview: the tenant's most recently started top-up, of any source and status."""
    query = sa.select(Topup).where(Topup.tenant_id == tenant_id).order_by(Topup.created_at.desc(), Topup.id.desc())
    async with db.sessions() as session:
        topup = (await session.execute(query.limit(1))).scalar_one_or_none()
    if topup is None:
        return LastTopupReply()
    return LastTopupReply(
        topup=LastTopupView(
            id=topup.id,
            status=topup.status,
            amount_cents=topup.amount_cents,
            bonus_cents=topup.bonus_cents,
            invoice_id=topup.invoice_id,
            failure_reason=topup.failure_reason,
            created_at=topup.created_at,
        )
    )


async def list_topups(*, db: Database, req: ListTopups) -> TopupPage:
    """The operator's list: newest first (created_at, then id), with what each has refunded and may
    still refund. Two statements a page whatever its size: the top-ups, then their refunds."""
    query = (
        sa.select(Topup)
        .where(Topup.tenant_id == req.tenant_id)
        .order_by(Topup.created_at.desc(), Topup.id.desc())
        .limit(req.limit + 1)
    )
    if req.cursor:
        at, last_id = decode_cursor(req.cursor)
        query = query.where(sa.tuple_(Topup.created_at, Topup.id) < sa.tuple_(at, last_id))
    async with db.sessions() as session:
        rows = list((await session.execute(query)).scalars())
        page = rows[: req.limit]
        refunded = await repository.refunded_so_far(session, [topup.id for topup in page])
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > req.limit else None
    return TopupPage(items=[_line(topup, refunded[topup.id]) for topup in page], next_cursor=next_cursor)


def _line(topup: Topup, refunded: refund_rules.RefundedSoFar) -> TopupLine:
    return TopupLine(
        id=topup.id,
        status=topup.status,
        source=topup.source,
        amount_cents=topup.amount_cents,
        bonus_cents=topup.bonus_cents,
        refunded_cents=refunded.total_cents,
        refundable_cents=refund_rules.refundable_now(
            status=topup.status, amount_cents=topup.amount_cents, refunded=refunded
        ),
        invoice_id=topup.invoice_id,
        created_at=topup.created_at,
    )
