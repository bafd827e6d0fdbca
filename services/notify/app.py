"""Composition root of the notify service: settings → database, broker, channels, scheduler, handlers."""

from __future__ import annotations

from pathlib import Path

from runtime.db import Database
from runtime.messaging import make_broker
from runtime.service import Service
from services.notify import handlers
from services.notify.channels.registry import REGISTRY
from services.notify.channels.webhook import WebhookSender
from services.notify.config import NotifySettings
from services.notify.delivery import Deliveries
from services.notify.delivery_log import RetryPolicy
from services.notify.scheduler import Scheduler

MIGRATIONS = str(Path(__file__).parent / "migrations")
LEASE_MARGIN_S = 60.0


def deliveries_factory(settings: NotifySettings, broker):
    """Adapters are made inside the running loop (they hold HTTP sessions) by the scheduler."""
    settings.vapid_key()  # generated (development) before the loop needs it

    def make() -> Deliveries:
        channels = {
            name: channel.from_settings(settings, lambda: broker.connection) for name, channel in REGISTRY.items()
        }
        return Deliveries(
            channels,
            WebhookSender(timeout_s=settings.webhook_timeout_s, allow_private=bool(settings.webhook_allow_private)),
        )

    return make


def build(settings: NotifySettings | None = None) -> Service:
    settings = settings or NotifySettings()
    db = Database(settings.resolved_database_url(), settings.schema, pool_size=settings.db_pool_size)
    broker = make_broker(settings, name="notify")
    policy = RetryPolicy(
        schedule=settings.retry_schedule,
        webhook_schedule=settings.webhook_schedule,
        disable_after_s=settings.webhook_disable_after_s,
    )
    scheduler = Scheduler(
        db=db,
        make_deliveries=deliveries_factory(settings, broker),
        policy=policy,
        limits=settings.channel_limits,
        per_endpoint=settings.notify_concurrency_per_endpoint,
        lease_s=max(settings.webhook_timeout_s, 15.0) + LEASE_MARGIN_S,
        poll_s=settings.notify_poll_s,
    )
    consumers: list = []
    handlers.register(broker, consumers, db=db, settings=settings, scheduler=scheduler)

    async def deliver_notifications() -> None:
        await scheduler.run()

    service = Service(
        settings=settings,
        db=db,
        broker=broker,
        migrations=MIGRATIONS,
        jobs=[deliver_notifications],
        consumers=consumers,
    )
    service.scheduler = scheduler  # type: ignore[attr-defined]  # tests and benchmarks look at it
    return service
