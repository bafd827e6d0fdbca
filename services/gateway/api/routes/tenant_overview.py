"""GET /admin/v1/tenants and /admin/v1/tenants/{id}: the operator's overview, asked of billing (profile,
balance, runway, auto top-up) and payments (the last top-up); the gateway reads no one's database."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from contracts.billing.v1 import TENANT_PAGE_MAX, GetTenantOverview, ListTenants
from contracts.payments.v1 import GetLastTopup
from services.gateway.api.deps import Admin
from services.gateway.api.errors import COMMON_RESPONSES, ApiError
from services.gateway.api.rpc import ask
from services.gateway.api.schemas import LastTopup, TenantDetail, TenantList

TENANT_ID_MAX = 64  # billing's column: a longer id names no tenant
router = APIRouter(prefix="/admin/v1", tags=["admin"], dependencies=[Admin], responses=COMMON_RESPONSES)


@router.get("/tenants", response_model=TenantList)
async def list_tenants(
    request: Request,
    query: str = Query("", max_length=200, description="part of the name or email (any case), or an id's start"),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(50, ge=1, le=TENANT_PAGE_MAX),
) -> TenantList:
    """Newest first; `next_cursor` is null on the last page."""
    reply = await ask(request, ListTenants(query=query, cursor=cursor, limit=limit))
    return TenantList(**reply.model_dump())


@router.get("/tenants/{tenant_id}", response_model=TenantDetail)
async def get_tenant(tenant_id: str, request: Request) -> TenantDetail:
    """An unknown id answers 404 `not_found`."""
    return await tenant_detail(request, tenant_id=tenant_id)


async def tenant_detail(request: Request, *, tenant_id: str) -> TenantDetail:
    """One tenant as the operator sees it (this route): billing's account, then payments' last top-up."""
    account = await tenant_account(request, tenant_id=tenant_id)
    last = await ask(request, GetLastTopup(tenant_id=tenant_id))
    return account.model_copy(update={"last_topup": LastTopup(**last.topup.model_dump()) if last.topup else None})


async def tenant_account(request: Request, *, tenant_id: str) -> TenantDetail:
    """The tenant as billing knows it, without its last top-up (`last_topup` None): the operator console
    asks payments for the top-ups on its own, so that its pages do not fail when payments does."""
    if len(tenant_id) > TENANT_ID_MAX:
        raise ApiError(404, "not_found", "tenant not found")
    overview = await ask(request, GetTenantOverview(tenant_id=tenant_id))  # billing's not_found is the 404
    return TenantDetail(
        **overview.tenant.model_dump(),
        paid_cents=overview.paid_cents,
        promotional_cents=overview.promotional_cents,
        autotopup=overview.autotopup.model_dump(),
    )
