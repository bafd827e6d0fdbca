"""The end-to-end stack: real billing, payments and gateway (documents when present) on real NATS and
PostgreSQL, with the Stripe emulator sending signed webhooks to the gateway."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.stripe_emulator import Emulator, running_emulator


@pytest.fixture(scope="session")
def e2e_stripe() -> Iterator[Emulator]:
    """This package's own emulator: its webhook registry is global, so it is not shared."""
    with running_emulator() as emulator:
        yield emulator
