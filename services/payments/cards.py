"""Stripe customers and saved cards. Card changes of one tenant serialize on its customer row."""

from __future__ import annotations

import contextlib

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import utcnow
from contracts.payments.v1 import PaymentMethodView, SetupIntentReply
from runtime import outbox
from runtime.db import Database
from runtime.tables import table_of
from services.payments import events, profiles, repository
from services.payments.stripe.client import StripeAdapter
from services.payments.stripe.errors import StripeInvalidRequest, StripeNotFound
from services.payments.stripe.models import Card
from services.payments.tables import PaymentMethod, StripeCustomer


class CardNotFound(LookupError):
    """No such card for this tenant (also: it belongs to someone else)."""


async def ensure_customer(
    *, db: Database, adapter: StripeAdapter, tenant_id: str, email: str | None = None, name: str | None = None
) -> str:
    """The tenant's Stripe customer, created on first use; concurrent first uses agree on one.
    It carries the tenant's email and name (profiles), set right after it is created."""
    async with db.sessions() as session:
        known = await repository.customer_id_of(session, tenant_id)
    if known:
        return known
    created = await adapter.ensure_customer(tenant_id=tenant_id)
    async with db.transaction() as session:
        row = {"tenant_id": tenant_id, "customer_id": created, "created_at": utcnow()}
        await repository.insert_new(session, table_of(StripeCustomer), row)
        customer_id = await repository.customer_id_of(session, tenant_id) or created
    await profiles.push_quietly(
        db=db, adapter=adapter, tenant_id=tenant_id, customer_id=customer_id, email=email, name=name
    )
    return customer_id


def view(card: PaymentMethod) -> PaymentMethodView:
    return PaymentMethodView(
        id=card.id,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
        is_default=card.is_default,
    )


async def list_cards(*, db: Database, tenant_id: str) -> list[PaymentMethodView]:
    async with db.sessions() as session:
        return [view(c) for c in await repository.cards_of(session, tenant_id)]


async def _own_card(session: AsyncSession, tenant_id: str, card_id: str) -> PaymentMethod:
    card = await session.get(PaymentMethod, card_id)
    if card is None or card.tenant_id != tenant_id:
        raise CardNotFound(f"no payment method {card_id}")
    return card


def _row(tenant_id: str, card: Card) -> dict:
    return {
        "id": card.id,
        "tenant_id": tenant_id,
        "brand": card.brand,
        "last4": card.last4,
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
        "attached_at": utcnow(),
    }


async def attach_card(
    *, db: Database, adapter: StripeAdapter, tenant_id: str, payment_method_id: str, make_default: bool
) -> PaymentMethodView:
    customer_id = await ensure_customer(db=db, adapter=adapter, tenant_id=tenant_id)
    try:
        card = await adapter.attach_payment_method(customer_id=customer_id, payment_method_id=payment_method_id)
    except (StripeNotFound, StripeInvalidRequest) as exc:
        raise CardNotFound(f"no payment method {payment_method_id}") from exc
    async with db.transaction() as session:
        await repository.customer_id_of(session, tenant_id, lock=True)
        await repository.insert_new(session, table_of(PaymentMethod), _row(tenant_id, card))
        default = await repository.default_card_id(session, tenant_id)
        if make_default or default is None:
            await adapter.set_default_payment_method(customer_id=customer_id, payment_method_id=card.id)
            await repository.mark_default(session, tenant_id, default := card.id)
        await outbox.add(session, [events.card_changed(tenant_id, "attached", card.id, default)])
        return view(await _own_card(session, tenant_id, card.id))


async def set_default_card(
    *, db: Database, adapter: StripeAdapter, tenant_id: str, payment_method_id: str
) -> PaymentMethodView:
    async with db.transaction() as session:
        customer_id = await repository.customer_id_of(session, tenant_id, lock=True)
        card = await _own_card(session, tenant_id, payment_method_id)
        if not card.is_default:
            await adapter.set_default_payment_method(customer_id=customer_id, payment_method_id=card.id)
            await repository.mark_default(session, tenant_id, card.id)
            await outbox.add(session, [events.card_changed(tenant_id, "default_changed", card.id, card.id)])
        await session.refresh(card)
        return view(card)


async def detach_card(
    *, db: Database, adapter: StripeAdapter, tenant_id: str, payment_method_id: str
) -> PaymentMethodView:
    """Removes the card at Stripe and here; a removed default leaves no default (Stripe does the same)."""
    async with db.transaction() as session:
        await repository.customer_id_of(session, tenant_id, lock=True)
        card = await _own_card(session, tenant_id, payment_method_id)
        gone = view(card).model_copy(update={"is_default": False})
        with contextlib.suppress(StripeNotFound, StripeInvalidRequest):  # already detached: our row was stale
            await adapter.detach_payment_method(payment_method_id=card.id)
        await _forget(session, tenant_id, card.id)
        return gone


async def _forget(session: AsyncSession, tenant_id: str, card_id: str) -> None:
    await session.execute(delete(PaymentMethod).where(PaymentMethod.id == card_id))
    default = await repository.default_card_id(session, tenant_id)
    await outbox.add(session, [events.card_changed(tenant_id, "detached", card_id, default)])


async def create_setup_intent(*, db: Database, adapter: StripeAdapter, tenant_id: str) -> SetupIntentReply:
    customer_id = await ensure_customer(db=db, adapter=adapter, tenant_id=tenant_id)
    intent = await adapter.create_setup_intent(customer_id=customer_id, metadata={"tenant_id": tenant_id})
    return SetupIntentReply(setup_intent_id=intent.id, client_secret=intent.client_secret)


async def sync_cards(session: AsyncSession, adapter: StripeAdapter, *, tenant_id: str, customer_id: str) -> None:
    """Make our cards match Stripe's (cards saved by Checkout or a SetupIntent, detached elsewhere)."""
    await repository.customer_id_of(session, tenant_id, lock=True)
    remote = {c.id: c for c in await adapter.list_payment_methods(customer_id=customer_id)}
    local = {c.id for c in await repository.cards_of(session, tenant_id)}
    added = [remote[i] for i in remote if i not in local]
    for card in added:
        await repository.insert_new(session, table_of(PaymentMethod), _row(tenant_id, card))
    for card_id in local - set(remote):
        await _forget(session, tenant_id, card_id)
    default = await repository.default_card_id(session, tenant_id)
    if default is None and added:  # a new card becomes the default only when there is none
        default = added[0].id
        await adapter.set_default_payment_method(customer_id=customer_id, payment_method_id=default)
        await repository.mark_default(session, tenant_id, default)
    await outbox.add(session, [events.card_changed(tenant_id, "attached", c.id, default) for c in added])


async def card_of(session: AsyncSession, adapter: StripeAdapter, payment_method_id: str | None) -> Card | None:
    """The card a payment used, for its invoice: ours when it is saved, else as Stripe describes it
    (None when Stripe does not know it either)."""
    if not payment_method_id:
        return None
    row = await session.get(PaymentMethod, payment_method_id)
    if row is not None:
        return Card(id=row.id, brand=row.brand, last4=row.last4, exp_month=row.exp_month, exp_year=row.exp_year)
    try:
        return Card.from_stripe(await adapter.retrieve_payment_method(payment_method_id))
    except StripeNotFound:
        return None
