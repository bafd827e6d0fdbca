"""Notify: preferences, push subscriptions, webhook endpoints and their delivery log."""

from datetime import datetime
from typing import ClassVar, Literal, get_args

from pydantic import Field

from contracts.base import Reply, Request, View

Channel = Literal["email", "sms", "push"]  # the only list of the channels a customer picks per event type
CHANNELS: tuple[Channel, ...] = get_args(Channel)


class PreferencesReply(Reply):
    preferences: dict[str, list[Channel]] = {}
    error: dict | None = None


class GetPreferences(Request):
    subject: ClassVar[str] = "rpc.notify.preferences.get.v1"
    reply_model: ClassVar = PreferencesReply
    tenant_id: str


class UpdatePreferences(Request):
    subject: ClassVar[str] = "rpc.notify.preferences.update.v1"
    reply_model: ClassVar = PreferencesReply
    tenant_id: str
    preferences: dict[str, list[str]]


class PushSubscriptionKeys(View):
    p256dh: str = Field(min_length=1, max_length=200)
    auth: str = Field(min_length=1, max_length=100)


class IdReply(Reply):
    id: str | None = None
    error: dict | None = None


class AddPushSubscription(Request):
    subject: ClassVar[str] = "rpc.notify.push_subscriptions.add.v1"
    reply_model: ClassVar = IdReply
    tenant_id: str
    endpoint: str = Field(min_length=1, max_length=2000)
    keys: PushSubscriptionKeys


class WebhookEndpointView(View):
    id: str
    url: str
    events: list[str]
    status: Literal["enabled", "disabled"] = "enabled"
    disabled_reason: str | None = None
    secret: str | None = None  # only in the creation reply
    created_at: datetime | None = None


class WebhookEndpointsReply(Reply):
    items: list[WebhookEndpointView] = []
    item: WebhookEndpointView | None = None
    error: dict | None = None


class CreateWebhookEndpoint(Request):
    subject: ClassVar[str] = "rpc.notify.webhook_endpoints.create.v1"
    reply_model: ClassVar = WebhookEndpointsReply
    tenant_id: str
    url: str = Field(min_length=1, max_length=2000)
    events: list[str]


class ListWebhookEndpoints(Request):
    subject: ClassVar[str] = "rpc.notify.webhook_endpoints.list.v1"
    reply_model: ClassVar = WebhookEndpointsReply
    tenant_id: str


class DeleteWebhookEndpoint(Request):
    subject: ClassVar[str] = "rpc.notify.webhook_endpoints.delete.v1"
    reply_model: ClassVar = WebhookEndpointsReply
    tenant_id: str
    endpoint_id: str


class DeliveryView(View):
    id: str
    webhook_id: str
    event_type: str
    attempt: int
    status_code: int | None = None
    error: str | None = None
    response_snippet: str | None = None
    duration_ms: int
    attempted_at: datetime


class DeliveriesReply(Reply):
    items: list[DeliveryView] = []
    error: dict | None = None


class ListDeliveries(Request):
    subject: ClassVar[str] = "rpc.notify.deliveries.list.v1"
    reply_model: ClassVar = DeliveriesReply
    tenant_id: str
    endpoint_id: str
    limit: int = Field(default=100, ge=1, le=500)


class ReplayDelivery(Request):
    subject: ClassVar[str] = "rpc.notify.deliveries.replay.v1"
    reply_model: ClassVar = IdReply
    tenant_id: str
    endpoint_id: str
    webhook_id: str


class PushConfigReply(Reply):
    vapid_public_key: str | None = None  # base64url uncompressed P-256 point (applicationServerKey)
    error: dict | None = None


class GetPushConfig(Request):
    """What a browser needs to subscribe to push: the VAPID public key notify signs with."""

    subject: ClassVar[str] = "rpc.notify.push_config.v1"
    reply_model: ClassVar = PushConfigReply
