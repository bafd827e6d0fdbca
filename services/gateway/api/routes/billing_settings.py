"""Auto top-up settings (owned by billing)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from contracts.billing.v1 import GetAutoTopup, UpdateAutoTopup
from services.gateway.api.deps import CurrentTenant
from services.gateway.api.errors import COMMON_RESPONSES
from services.gateway.api.rpc import ask
from services.gateway.api.schemas import AutoTopup, AutoTopupIn

router = APIRouter(prefix="/v1", tags=["auto top-up"], responses=COMMON_RESPONSES)


@router.get("/auto-topup", response_model=AutoTopup)
async def get_auto_topup(tenant_id: CurrentTenant, request: Request) -> AutoTopup:
    return AutoTopup(**(await ask(request, GetAutoTopup(tenant_id=tenant_id))).model_dump())


@router.put("/auto-topup", response_model=AutoTopup)
async def put_auto_topup(body: AutoTopupIn, tenant_id: CurrentTenant, request: Request) -> AutoTopup:
    reply = await ask(request, UpdateAutoTopup(tenant_id=tenant_id, **body.model_dump()))
    return AutoTopup(**reply.model_dump())
