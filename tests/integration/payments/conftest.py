"""Payments against real NATS, PostgreSQL and the Stripe emulator, with the gateway's webhook path."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from devtools.infra import service_nats_settings
from devtools.stripe_emulator import Emulator, running_emulator
from services.payments.app import build
from services.payments.config import PaymentsSettings
from services.payments.stripe.client import StripeAdapter
from tests.support.stack import nats_client, running

from .stripe_gateway import StripeGateway

WEBHOOK_SECRET = "whsec_payments_integration"


@pytest.fixture(scope="session")
def stripe_emulator() -> Iterator[Emulator]:
    with running_emulator() as emulator:
        yield emulator


@pytest.fixture(scope="session")
async def stripe_gateway(stripe_emulator: Emulator) -> AsyncIterator[StripeGateway]:
    async with StripeGateway(WEBHOOK_SECRET) as gateway:
        stripe_emulator.register_webhook(gateway.endpoint, WEBHOOK_SECRET, name="payments-integration")
        yield gateway


def payments_settings(
    nats_url: str, database_url: str, schema: str, emulator: Emulator, **overrides
) -> PaymentsSettings:
    return PaymentsSettings(
        **service_nats_settings(nats_url, "payments"),
        database_url=database_url,
        db_schema=schema,
        app_env="test",
        port=0,
        stripe_api_key=emulator.api_key,
        stripe_api_base=emulator.base_url,
        stripe_webhook_secret=WEBHOOK_SECRET,
        webhook_poll_s=0.2,
        portal_base_url="http://portal.test",
        **overrides,
    )


@pytest.fixture
async def payments(nats_url, database_url, new_schema, stripe_emulator, stripe_gateway):
    service = build(payments_settings(nats_url, database_url, new_schema("pay"), stripe_emulator))
    async with running(service), nats_client(nats_url) as nc:
        stripe_gateway.reset(nc)
        try:
            yield service
        finally:
            stripe_gateway.reset(None)


@pytest.fixture
async def nc(nats_url, payments):
    async with nats_client(nats_url) as client:
        yield client


@pytest.fixture
async def stripe(stripe_emulator: Emulator) -> AsyncIterator[StripeAdapter]:
    adapter = StripeAdapter(api_key=stripe_emulator.api_key, api_base=stripe_emulator.base_url)
    yield adapter
    await adapter.aclose()


@pytest.fixture
def faulty_stripe(stripe_emulator: Emulator) -> Iterator[Emulator]:
    """The session's emulator, with whatever a test breaks (faults, pending refunds, processing
    charges) repaired afterwards."""
    yield stripe_emulator
    stripe_emulator.clear_faults()
    stripe_emulator.pending_refunds(False)
    stripe_emulator.processing_charges(False)
