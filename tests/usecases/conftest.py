"""The use-case tier: billing's and payments' use cases on real PostgreSQL, without NATS.

Each service's migrations run once per session into a schema of their own (~85 ms each; per test
that would be most of a test's time). Tests stay apart by random tenant ids, the house way, and
see the outbox rows written since they started (`outbox`): tests run one after another in a
session, so those rows are exactly what the test's use cases committed — events are asserted
where the bus would have picked them up.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from runtime.db import Database
from runtime.migrations import upgrade
from runtime.outbox import unbundled
from runtime.tables import outbox as outbox_table
from services.billing.app import MIGRATIONS as BILLING_MIGRATIONS
from services.billing.deps import BillingDeps
from services.payments.app import MIGRATIONS as PAYMENTS_MIGRATIONS


async def _migrated(database_url: str, created_schemas: list[str], prefix: str, migrations: str) -> Database:
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    created_schemas.append(schema)  # dropped at the session's end (tests/conftest.py)
    db = Database(database_url, schema, pool_size=4)
    await upgrade(db, migrations)
    return db


@pytest.fixture(scope="session")
async def billing_db(database_url, created_schemas) -> AsyncIterator[Database]:
    db = await _migrated(database_url, created_schemas, "ucbill", BILLING_MIGRATIONS)
    yield db
    await db.dispose()


@pytest.fixture(scope="session")
async def payments_db(database_url, created_schemas) -> AsyncIterator[Database]:
    db = await _migrated(database_url, created_schemas, "ucpay", PAYMENTS_MIGRATIONS)
    yield db
    await db.dispose()


@pytest.fixture
def billing(billing_db) -> BillingDeps:
    """Billing's dependencies as `app.build` makes them, with API.md's defaults and no broker."""
    return BillingDeps(db=billing_db)


@dataclass(frozen=True)
class Published:
    """One event of the outbox: what the relay would publish."""

    subject: str
    payload: dict

    @property
    def data(self) -> dict:
        return self.payload.get("data", {})


class Outbox:
    """The outbox rows of one schema committed after `since` (the row id when the test began)."""

    def __init__(self, db: Database, since: int) -> None:
        self.db, self.since = db, since

    async def all(self) -> list[Published]:
        query = (
            sa.select(outbox_table.c.subject, outbox_table.c.payload, outbox_table.c.event_id)
            .where(outbox_table.c.id > self.since)
            .order_by(outbox_table.c.id)
        )
        async with self.db.sessions() as session:
            rows = (await session.execute(query)).all()
        # a bundle row (a large batch's events) holds its events: the relay publishes each of them
        events = [e for r in rows for e in unbundled(r.subject, r.payload, r.event_id)]
        return [Published(subject.decode(), json.loads(payload)) for subject, payload, _ in events]

    async def on(self, subject: str) -> list[Published]:
        return [p for p in await self.all() if p.subject == subject]

    async def subjects(self) -> list[str]:
        return [p.subject for p in await self.all()]


async def _outbox_since_now(db: Database) -> Outbox:
    async with db.sessions() as session:
        last = (await session.execute(sa.select(sa.func.coalesce(sa.func.max(outbox_table.c.id), 0)))).scalar_one()
    return Outbox(db, last)


@pytest.fixture
async def billing_outbox(billing_db) -> Outbox:
    return await _outbox_since_now(billing_db)


@pytest.fixture
async def payments_outbox(payments_db) -> Outbox:
    return await _outbox_since_now(payments_db)


@pytest.fixture(scope="session")
def stripe_emulator() -> Iterator:
    """The local Stripe emulator (~0.3 s to start), only for the payments tests that talk to Stripe."""
    from devtools.stripe_emulator import running_emulator

    with running_emulator() as emulator:
        yield emulator


@pytest.fixture
async def stripe(stripe_emulator):
    from services.payments.stripe.client import StripeAdapter

    adapter = StripeAdapter(api_key=stripe_emulator.api_key, api_base=stripe_emulator.base_url)
    yield adapter
    await adapter.aclose()
