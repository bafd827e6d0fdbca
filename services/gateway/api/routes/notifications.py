"""Notification preferences, push subscriptions, webhook endpoints and their delivery log (owned by notify)."""

from __future__ import annotations

from fastapi import APIRouter, Body, Request, Response

from contracts.notify.v1 import (
    AddPushSubscription,
    CreateWebhookEndpoint,
    DeleteWebhookEndpoint,
    GetPreferences,
    ListDeliveries,
    ListWebhookEndpoints,
    PushSubscriptionKeys,
    ReplayDelivery,
    UpdatePreferences,
)
from services.gateway.api.deps import CurrentTenant
from services.gateway.api.errors import COMMON_RESPONSES, ApiError
from services.gateway.api.rpc import ask
from services.gateway.api.schemas import (
    Accepted,
    Delivery,
    DeliveryList,
    PushSubscriptionIn,
    WebhookEndpoint,
    WebhookEndpointIn,
    WebhookEndpointList,
)

router = APIRouter(prefix="/v1", tags=["notifications"], responses=COMMON_RESPONSES)


@router.get("/notification-preferences", response_model=dict[str, list[str]])
async def get_preferences(tenant_id: CurrentTenant, request: Request) -> dict[str, list[str]]:
    return (await ask(request, GetPreferences(tenant_id=tenant_id))).preferences


@router.put("/notification-preferences", response_model=dict[str, list[str]])
async def put_preferences(
    tenant_id: CurrentTenant,
    request: Request,
    body: dict[str, list[str]] = Body(..., examples=[{"balance.low": ["email", "push"]}]),
):
    if len(body) > 50:
        raise ApiError(400, "validation_error", "too many event types")
    return (await ask(request, UpdatePreferences(tenant_id=tenant_id, preferences=body))).preferences


@router.post("/push-subscriptions", status_code=201, response_model=Accepted)
async def add_push_subscription(body: PushSubscriptionIn, tenant_id: CurrentTenant, request: Request) -> Accepted:
    reply = await ask(
        request,
        AddPushSubscription(
            tenant_id=tenant_id, endpoint=body.endpoint, keys=PushSubscriptionKeys(**body.keys.model_dump())
        ),
    )
    return Accepted(id=reply.id)


@router.post("/webhook-endpoints", status_code=201, response_model=WebhookEndpoint)
async def create_endpoint(body: WebhookEndpointIn, tenant_id: CurrentTenant, request: Request) -> WebhookEndpoint:
    reply = await ask(request, CreateWebhookEndpoint(tenant_id=tenant_id, url=body.url, events=body.events), timeout=15)
    return WebhookEndpoint(**reply.item.model_dump())


@router.get("/webhook-endpoints", response_model=WebhookEndpointList)
async def list_endpoints(tenant_id: CurrentTenant, request: Request) -> WebhookEndpointList:
    reply = await ask(request, ListWebhookEndpoints(tenant_id=tenant_id))
    return WebhookEndpointList(items=[WebhookEndpoint(**{**i.model_dump(), "secret": None}) for i in reply.items])


@router.delete("/webhook-endpoints/{endpoint_id}", status_code=204)
async def delete_endpoint(endpoint_id: str, tenant_id: CurrentTenant, request: Request) -> Response:
    await ask(request, DeleteWebhookEndpoint(tenant_id=tenant_id, endpoint_id=endpoint_id))
    return Response(status_code=204)


@router.get("/webhook-endpoints/{endpoint_id}/deliveries", response_model=DeliveryList)
async def list_deliveries(endpoint_id: str, tenant_id: CurrentTenant, request: Request) -> DeliveryList:
    reply = await ask(request, ListDeliveries(tenant_id=tenant_id, endpoint_id=endpoint_id))
    return DeliveryList(items=[Delivery(**d.model_dump()) for d in reply.items])


@router.post(
    "/webhook-endpoints/{endpoint_id}/deliveries/{webhook_id}/replay", status_code=202, response_model=Accepted
)
async def replay(endpoint_id: str, webhook_id: str, tenant_id: CurrentTenant, request: Request) -> Accepted:
    reply = await ask(request, ReplayDelivery(tenant_id=tenant_id, endpoint_id=endpoint_id, webhook_id=webhook_id))
    return Accepted(id=reply.id or webhook_id)
