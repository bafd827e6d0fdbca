from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from devtools.stripe_emulator import Emulator, running_emulator
from devtools.stripe_emulator.receiver import WebhookReceiver
from services.payments.stripe.client import StripeAdapter

WEBHOOK_SECRET = "whsec_unit_test_secret"


@pytest.fixture(scope="session")
def stripe_emulator() -> Iterator[Emulator]:
    with running_emulator() as emulator:
        yield emulator


@pytest.fixture(scope="session")
async def stripe_webhooks(stripe_emulator: Emulator) -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as receiver:
        stripe_emulator.register_webhook(receiver.endpoint, WEBHOOK_SECRET)
        yield receiver


@pytest.fixture
async def stripe_adapter(stripe_emulator: Emulator) -> AsyncIterator[StripeAdapter]:
    adapter = StripeAdapter(api_key=stripe_emulator.api_key, api_base=stripe_emulator.base_url)
    yield adapter
    await adapter.aclose()


@pytest.fixture
def tenant_id() -> str:
    return f"tenant-{uuid.uuid4()}"


@pytest.fixture
async def customer_id(stripe_adapter: StripeAdapter, tenant_id: str) -> str:
    return await stripe_adapter.ensure_customer(tenant_id=tenant_id, email="kasse@example.de", name="Beispiel GmbH")
