"""The customer's notification channels: one protocol, one registration each.

A channel has a `name` (one of `contracts.notify.v1.Channel`, the only list of channel names), finds
the targets of a tenant's job (`targets`: `""` for one job addressed from the contact when it is sent,
or one job per push subscription), is built from the settings, and sends one claimed job. Job planning,
delivery, the per-channel concurrency limits and the delivery log iterate over `REGISTRY`; the portal's
preferences page iterates over `Channel`. Webhooks are not a channel a customer picks per event type
(endpoints subscribe to types), so they are delivered beside the registry (`delivery.Deliveries`).

Adding a channel: its adapter class (a module in this package), one line below, its name in
`contracts.notify.v1.Channel`, its label in the portal's texts (docs/runtime-primer.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Protocol

from services.notify.channels.email import EmailChannel
from services.notify.channels.push import PushChannel
from services.notify.channels.result import DeliveryResult
from services.notify.channels.sms import SmsChannel
from services.notify.jobs import Audience, Claimed

if TYPE_CHECKING:
    from services.notify.config import NotifySettings

NatsConnection = Callable[[], object]  # the live NATS connection (asked when sending)


class NotificationChannel(Protocol):
    name: ClassVar[str]
    default_concurrency: ClassVar[int]  # attempts in flight per process (NOTIFY_CONCURRENCY)
    by_subscription: ClassVar[bool]  # its targets are push subscriptions (deleted when gone)

    @staticmethod
    def targets(audience: Audience) -> list[str]: ...

    @classmethod
    def from_settings(cls, settings: NotifySettings, nats: NatsConnection) -> NotificationChannel: ...

    async def send(self, claimed: Claimed) -> DeliveryResult | None: ...

    async def aclose(self) -> None: ...


REGISTRY: dict[str, type[NotificationChannel]] = {
    channel.name: channel for channel in (EmailChannel, SmsChannel, PushChannel)
}
