"""Admin API: tenants, their API keys, portal users, balance adjustments and promotional grants
(Bearer $GATEWAY_ADMIN_TOKEN)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from contracts.base import new_id, utcnow
from contracts.billing.v1 import (
    AccountProfile,
    Address,
    CreateAccount,
    CreateAdjustment,
    CreateGrant,
    ListGrants,
    VoidGrant,
)
from services.gateway import credentials
from services.gateway.api.deps import Admin, state
from services.gateway.api.errors import COMMON_RESPONSES, ApiError
from services.gateway.api.idempotency import required_idempotency_key
from services.gateway.api.rpc import ask
from services.gateway.api.schemas import (
    Adjustment,
    AdjustmentIn,
    ApiKeyCreated,
    ApiKeyItem,
    ApiKeyList,
    Grant,
    GrantIn,
    GrantList,
    TenantCreated,
    TenantIn,
    UserCreated,
    UserIn,
)
from services.gateway.password_checks import PasswordChecksBusy
from services.gateway.tables import ApiKey, Tenant

router = APIRouter(prefix="/admin/v1", tags=["admin"], dependencies=[Admin], responses=COMMON_RESPONSES)


@router.post("/tenants", status_code=201, response_model=TenantCreated)
async def create_tenant(body: TenantIn, request: Request) -> TenantCreated:
    gw = state(request)
    tenant_id = new_id("ten_")[:24]
    profile = AccountProfile(
        tenant_id=tenant_id,
        name=body.name,
        email=body.email,
        country=body.country.upper(),
        vat_id=body.vat_id,
        phone=body.phone,
        locale=body.locale,
        address=Address(**body.address.model_dump()),
        low_balance_threshold_cents=gw.settings.low_balance_threshold_cents,
    )
    await ask(request, CreateAccount(profile=profile))
    async with gw.db.transaction() as session:
        session.add(Tenant(id=tenant_id, name=body.name, created_at=utcnow()))
        key, _ = await credentials.issue_api_key(session, tenant_id=tenant_id)
    return TenantCreated(id=tenant_id, api_key=key)


async def _existing_tenant(session, tenant_id: str) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise ApiError(404, "not_found", "tenant not found")
    return tenant


@router.post("/tenants/{tenant_id}/api-keys", status_code=201, response_model=ApiKeyCreated)
async def create_api_key(tenant_id: str, request: Request) -> ApiKeyCreated:
    async with state(request).db.transaction() as session:
        await _existing_tenant(session, tenant_id)
        key, row = await credentials.issue_api_key(session, tenant_id=tenant_id)
    return ApiKeyCreated(api_key=key, prefix=row.prefix)


@router.get("/tenants/{tenant_id}/api-keys", response_model=ApiKeyList)
async def list_api_keys(tenant_id: str, request: Request) -> ApiKeyList:
    gw = state(request)
    await gw.key_usage.flush()
    async with gw.db.sessions() as session:
        await _existing_tenant(session, tenant_id)
        rows = (
            (
                await session.execute(
                    sa.select(ApiKey)
                    .where(ApiKey.tenant_id == tenant_id, ApiKey.revoked_at.is_(None))
                    .order_by(ApiKey.created_at)
                )
            )
            .scalars()
            .all()
        )
    return ApiKeyList(
        items=[ApiKeyItem(prefix=r.prefix, created_at=r.created_at, last_used_at=r.last_used_at) for r in rows]
    )


@router.delete("/api-keys/{prefix}", status_code=204)
async def revoke_api_key(prefix: str, request: Request) -> Response:
    async with state(request).db.transaction() as session:
        row = await session.get(ApiKey, prefix)
        if row is None or row.revoked_at is not None:
            raise ApiError(404, "not_found", "API key not found")
        row.revoked_at = utcnow()
        session.add(row)
    await state(request).key_cache.revoked(prefix)
    return Response(status_code=204)


@router.post("/tenants/{tenant_id}/users", status_code=201, response_model=UserCreated)
async def create_user(tenant_id: str, body: UserIn, request: Request) -> UserCreated:
    try:
        password_hash = await state(request).password_checks.hash(body.password)
    except PasswordChecksBusy as exc:
        raise ApiError(503, "unavailable", str(exc), {"Retry-After": str(exc.retry_after_s)}) from None
    user = credentials.new_user(tenant_id=tenant_id, email=body.email, password_hash=password_hash)
    async with state(request).db.transaction() as session:
        await _existing_tenant(session, tenant_id)
        if await credentials.find_user(session, body.email) is not None:
            raise ApiError(409, "conflict", "a portal user with this email exists")
        session.add(user)
    return UserCreated(id=user.id, email=user.email)


@router.post(
    "/tenants/{tenant_id}/adjustments",
    status_code=201,
    response_model=Adjustment,
    responses={200: {"model": Adjustment, "description": "the same key and body again"}},
)
async def create_adjustment(
    tenant_id: str,
    body: AdjustmentIn,
    request: Request,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    """A signed correction of the balance: an `adjustment` transaction whose description is the reason.
    A debit that would take the balance below zero answers 409 `conflict` (only usage may)."""
    key = required_idempotency_key(idempotency_key)
    adjustment, created = await adjust_balance(request, tenant_id=tenant_id, body=body, key=key)
    return JSONResponse(adjustment.model_dump(mode="json"), status_code=201 if created else 200)


@router.post(
    "/tenants/{tenant_id}/grants",
    status_code=201,
    response_model=Grant,
    responses={200: {"model": Grant, "description": "the same key and body again"}},
)
async def create_grant(
    tenant_id: str,
    body: GrantIn,
    request: Request,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    """Promotional credit: a `grant` transaction whose description is the reason (no invoice). Usage
    draws from open grants before paid balance; what is left at `expires_at` leaves as an `expiry`."""
    key = required_idempotency_key(idempotency_key)
    grant, created = await grant_credit(request, tenant_id=tenant_id, body=body, key=key)
    return JSONResponse(grant.model_dump(mode="json"), status_code=201 if created else 200)


@router.get("/tenants/{tenant_id}/grants", response_model=GrantList)
async def list_grants(tenant_id: str, request: Request) -> GrantList:
    return await grants_of(request, tenant_id=tenant_id)


@router.post("/grants/{grant_id}/void", response_model=Grant)
async def void_grant(grant_id: str, request: Request) -> Grant:
    """What the grant has left leaves as an `expiry` transaction; voiding again changes nothing."""
    return (await void(request, grant_id=grant_id))[0]


# The operations themselves, shared by these routes and the operator console (services/gateway/ops).


async def adjust_balance(request: Request, *, tenant_id: str, body: AdjustmentIn, key: str) -> tuple[Adjustment, bool]:
    """The adjustment and whether this call made it (False: the same key and body again)."""
    async with state(request).db.sessions() as session:
        await _existing_tenant(session, tenant_id)
    reply = await ask(
        request,
        CreateAdjustment(tenant_id=tenant_id, amount_cents=body.amount_cents, reason=body.reason, idempotency_key=key),
    )
    return Adjustment(**reply.adjustment.model_dump()), reply.created


async def grant_credit(request: Request, *, tenant_id: str, body: GrantIn, key: str) -> tuple[Grant, bool]:
    """The grant and whether this call made it (False: the same key and body again)."""
    async with state(request).db.sessions() as session:
        await _existing_tenant(session, tenant_id)
    reply = await ask(request, CreateGrant(tenant_id=tenant_id, idempotency_key=key, **body.model_dump()))
    return Grant(**reply.grant.model_dump()), reply.created


async def grants_of(request: Request, *, tenant_id: str) -> GrantList:
    async with state(request).db.sessions() as session:
        await _existing_tenant(session, tenant_id)
    return GrantList(**(await ask(request, ListGrants(tenant_id=tenant_id))).model_dump())


async def void(request: Request, *, grant_id: str) -> tuple[Grant, bool]:
    """The grant as it is now and whether this call closed it (False: it was closed already)."""
    if len(grant_id) > 40:
        raise ApiError(404, "not_found", "grant not found")
    reply = await ask(request, VoidGrant(grant_id=grant_id))
    return Grant(**reply.grant.model_dump()), reply.created
