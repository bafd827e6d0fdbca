"""The tenant's email and name on its Stripe customer, as billing announces them (AccountUpdated).

The newest profile wins (events may come again or out of order), so applying an event twice stores
the same row and the consumer needs no inbox. Stripe is then told the stored, newest values, which
is idempotent as well: when Stripe is unreachable the redelivered event simply tries again.
The customer is created with fixed parameters (its idempotency key never meets other parameters)
and gets the profile right after, by the same update.
"""

from __future__ import annotations

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.billing.v1 import AccountUpdated
from runtime.db import Database
from runtime.newest import keep_newest
from runtime.tables import table_of
from services.payments import repository
from services.payments.stripe.client import StripeAdapter
from services.payments.stripe.errors import StripeAdapterError
from services.payments.tables import CustomerProfile

log = structlog.get_logger(__name__)
profiles = table_of(CustomerProfile)
CONSUMER = "payments-account-updated"


async def remember(*, db: Database, adapter: StripeAdapter, events: list[AccountUpdated]) -> None:
    async with db.transaction() as session:
        await keep_newest(
            session,
            profiles,
            [
                {
                    "tenant_id": e.profile.tenant_id,
                    "email": e.profile.email,
                    "name": e.profile.name,
                    "updated_at": e.occurred_at,
                }
                for e in events
            ],
        )
    for tenant_id in sorted({e.profile.tenant_id for e in events}):
        async with db.sessions() as session:
            customer_id = await repository.customer_id_of(session, tenant_id)
        if customer_id:
            await push(db=db, adapter=adapter, tenant_id=tenant_id, customer_id=customer_id)


async def contact_of(session: AsyncSession, tenant_id: str) -> tuple[str | None, str | None]:
    row = (
        await session.execute(sa.select(profiles.c.email, profiles.c.name).where(profiles.c.tenant_id == tenant_id))
    ).first()
    return (row.email or None, row.name or None) if row else (None, None)


async def push(
    *,
    db: Database,
    adapter: StripeAdapter,
    tenant_id: str,
    customer_id: str,
    email: str | None = None,
    name: str | None = None,
) -> None:
    """Tell Stripe the stored profile (or, before billing announced one, what the caller knows)."""
    async with db.sessions() as session:
        stored_email, stored_name = await contact_of(session, tenant_id)
    await adapter.update_customer(customer_id, email=stored_email or email, name=stored_name or name)


async def push_quietly(**kwargs) -> None:
    """For a new customer: a payment must not fail because its name could not be set yet."""
    try:
        await push(**kwargs)
    except StripeAdapterError as exc:
        log.warning("stripe_customer.profile_not_updated", tenant_id=kwargs.get("tenant_id"), error=exc.message)
