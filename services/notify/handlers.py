"""Notify's subscribers: parse, call one use case, wake the scheduler when there is work."""

from __future__ import annotations

from contracts.billing.v1 import AccountUpdated
from contracts.gateway.v1 import GetPasswordResetLink, PasswordResetIssued
from contracts.notify.v1 import (
    AddPushSubscription,
    CreateWebhookEndpoint,
    DeleteWebhookEndpoint,
    GetPreferences,
    GetPushConfig,
    ListDeliveries,
    ListWebhookEndpoints,
    PushConfigReply,
    ReplayDelivery,
    UpdatePreferences,
)
from contracts.portal.v1 import PortalEvent
from runtime.handlers import batch_consumer, event_consumer, rpc
from runtime.messaging import request
from services.notify import endpoints, password_reset, preferences, use_cases
from services.notify.channels.push import application_server_key, load_vapid_key


def register(broker, consumers: list, *, db, settings, scheduler) -> None:
    queue = "notify"
    allow_private = bool(settings.webhook_allow_private)

    @event_consumer(consumers, AccountUpdated, durable="notify-account-updated")
    async def on_account_updated(events: list[AccountUpdated]) -> None:
        await use_cases.remember_contacts(db=db, events=events)

    @batch_consumer(consumers, PortalEvent, durable="notify-portal", subject="portal.>", batch_size=200)
    async def on_portal_event(events: list[PortalEvent]) -> None:
        channels = await use_cases.plan_deliveries(db=db, events=events)
        if channels:
            scheduler.wake(channels)

    smtp = settings.smtp()

    async def ask_gateway(req: GetPasswordResetLink):
        return await request(broker.connection, req, timeout=5)

    @event_consumer(consumers, PasswordResetIssued, durable=password_reset.CONSUMER)
    async def on_password_reset_issued(events: list[PasswordResetIssued]) -> None:
        await password_reset.send_reset_links(db=db, smtp=smtp, ask_gateway=ask_gateway, events=events)

    @rpc(broker, GetPreferences, queue=queue)
    async def on_get_preferences(req: GetPreferences):
        return await preferences.get_preferences(db=db, tenant_id=req.tenant_id)

    @rpc(broker, UpdatePreferences, queue=queue)
    async def on_update_preferences(req: UpdatePreferences):
        return await preferences.update_preferences(db=db, tenant_id=req.tenant_id, changes=req.preferences)

    push_config = PushConfigReply(vapid_public_key=application_server_key(load_vapid_key(settings.vapid_key())))

    @rpc(broker, GetPushConfig, queue=queue)
    async def on_get_push_config(req: GetPushConfig):
        return push_config

    @rpc(broker, AddPushSubscription, queue=queue)
    async def on_add_push_subscription(req: AddPushSubscription):
        return await endpoints.add_push_subscription(
            db=db,
            tenant_id=req.tenant_id,
            endpoint=req.endpoint,
            p256dh=req.keys.p256dh,
            auth=req.keys.auth,
            allow_private=allow_private,
        )

    @rpc(broker, CreateWebhookEndpoint, queue=queue)
    async def on_create_webhook_endpoint(req: CreateWebhookEndpoint):
        return await endpoints.create_endpoint(
            db=db, tenant_id=req.tenant_id, url=req.url, events=req.events, allow_private=allow_private
        )

    @rpc(broker, ListWebhookEndpoints, queue=queue)
    async def on_list_webhook_endpoints(req: ListWebhookEndpoints):
        return await endpoints.list_endpoints(db=db, tenant_id=req.tenant_id)

    @rpc(broker, DeleteWebhookEndpoint, queue=queue)
    async def on_delete_webhook_endpoint(req: DeleteWebhookEndpoint):
        return await endpoints.delete_endpoint(db=db, tenant_id=req.tenant_id, endpoint_id=req.endpoint_id)

    @rpc(broker, ListDeliveries, queue=queue)
    async def on_list_deliveries(req: ListDeliveries):
        return await endpoints.list_deliveries(
            db=db, tenant_id=req.tenant_id, endpoint_id=req.endpoint_id, limit=req.limit
        )

    @rpc(broker, ReplayDelivery, queue=queue)
    async def on_replay_delivery(req: ReplayDelivery):
        reply = await endpoints.replay_delivery(
            db=db, tenant_id=req.tenant_id, endpoint_id=req.endpoint_id, webhook_id=req.webhook_id
        )
        scheduler.wake({"webhook"})
        return reply
