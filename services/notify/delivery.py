"""Sends one claimed job: through its registered channel (email, SMS, push) or to its webhook endpoint.

Answers a `DeliveryResult`; None means there is nothing to send any more (the push subscription or
the webhook endpoint is gone or disabled).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from services.notify.channels.registry import NotificationChannel
from services.notify.channels.result import DeliveryResult
from services.notify.channels.webhook import WebhookMessage, WebhookSender
from services.notify.jobs import Claimed

WEBHOOK = "webhook"  # endpoints subscribe to event types: delivered beside the customer's channels


class Deliveries:
    """The adapters of one process, made inside the running loop (they hold HTTP sessions)."""

    def __init__(self, channels: Mapping[str, NotificationChannel], webhooks: WebhookSender) -> None:
        self.channels, self.webhooks = dict(channels), webhooks

    async def deliver(self, claimed: Claimed) -> DeliveryResult | None:
        if claimed.job.channel == WEBHOOK:
            return await self._webhook(claimed)
        return await self.channels[claimed.job.channel].send(claimed)

    async def aclose(self) -> None:
        for channel in self.channels.values():
            await channel.aclose()
        await self.webhooks.aclose()

    async def _webhook(self, c: Claimed) -> DeliveryResult | None:
        endpoint, job = c.endpoint, c.job
        if endpoint is None or endpoint.status != "enabled":
            return None
        message = WebhookMessage(
            job.event_type,
            job.payload["data"],
            datetime.fromisoformat(job.payload["occurred_at"]),
            webhook_id=job.webhook_id,
        )
        return await self.webhooks.send(url=endpoint.url, secret=endpoint.secret, message=message)
