"""Composition root of the payments service: settings → database, Stripe, broker, handlers, workers."""

from __future__ import annotations

from pathlib import Path

from runtime.db import Database
from runtime.messaging import make_broker
from runtime.service import Service
from services.payments import checkout_topups, handlers, webhooks
from services.payments.config import PaymentsSettings
from services.payments.domain.bonus import parse_tiers
from services.payments.domain.topups import Limits
from services.payments.reconciler import Reconciler
from services.payments.stripe.client import StripeAdapter

MIGRATIONS = str(Path(__file__).parent / "migrations")


def build(settings: PaymentsSettings | None = None, *, adapter: StripeAdapter | None = None) -> Service:
    settings = settings or PaymentsSettings()
    db = Database(settings.resolved_database_url(), settings.schema, pool_size=settings.db_pool_size)
    broker = make_broker(settings, name="payments")
    adapter = adapter or StripeAdapter.from_settings(settings)
    workers = webhooks.WebhookWorkers(
        db,
        adapter,
        settings.portal_topup_url,
        workers=settings.webhook_workers,
        poll_s=settings.webhook_poll_s,
        max_attempts=settings.webhook_max_attempts,
        retry_max_s=settings.webhook_retry_max_s,
    )
    checkout = checkout_topups.CheckoutConfig(
        limits=Limits(settings.topup_min_cents, settings.topup_max_cents),
        tiers=parse_tiers(settings.topup_bonus_tiers),
        portal_url=settings.portal_topup_url,
    )
    reconciler = Reconciler(
        db,
        adapter,
        lambda: broker.connection,
        interval_s=settings.reconcile_interval_s,
        first_run_s=settings.reconcile_first_run_s,
        lookback_s=settings.reconcile_lookback_s,
        grace_s=settings.reconcile_grace_s,
    )
    consumers: list = []
    handlers.register(
        broker,
        consumers,
        db=db,
        settings=settings,
        adapter=adapter,
        workers=workers,
        checkout=checkout,
        reconciler=reconciler,
    )

    async def process_stripe_events() -> None:
        try:
            await workers.run()
        finally:
            await adapter.aclose()

    async def reconcile() -> None:
        await reconciler.job()

    return Service(
        settings=settings,
        db=db,
        broker=broker,
        migrations=MIGRATIONS,
        jobs=[process_stripe_events, reconcile],
        consumers=consumers,
    )
