"""The VAPID public key browsers need to subscribe to push notifications (owned by notify)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from contracts.notify.v1 import GetPushConfig
from services.gateway.api.deps import CurrentTenant
from services.gateway.api.errors import COMMON_RESPONSES, ApiError
from services.gateway.api.rpc import ask

router = APIRouter(prefix="/v1", tags=["notifications"], responses=COMMON_RESPONSES)


class VapidPublicKey(BaseModel):
    public_key: str  # base64url uncompressed P-256 point: `pushManager.subscribe({applicationServerKey})`


@router.get("/push/vapid-public-key", response_model=VapidPublicKey)
async def vapid_public_key(tenant_id: CurrentTenant, request: Request) -> VapidPublicKey:
    reply = await ask(request, GetPushConfig())
    if not reply.vapid_public_key:
        raise ApiError(503, "unavailable", "push notifications are not configured")
    return VapidPublicKey(public_key=reply.vapid_public_key)
