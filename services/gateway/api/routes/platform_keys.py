"""Admin API: the keys of platforms that send usage over HTTP (Bearer $GATEWAY_ADMIN_TOKEN)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.gateway import platform_keys
from services.gateway.api.deps import Admin, state
from services.gateway.api.errors import COMMON_RESPONSES, ApiError
from services.gateway.api.ingest_schemas import PlatformKeyCreated, PlatformKeyIn, PlatformKeyItem, PlatformKeyList

router = APIRouter(prefix="/admin/v1/platform-keys", tags=["admin"], dependencies=[Admin], responses=COMMON_RESPONSES)


@router.post("", status_code=201, response_model=PlatformKeyCreated)
async def create_platform_key(body: PlatformKeyIn, request: Request) -> PlatformKeyCreated:
    """The key is in this answer only; afterwards it is known by its prefix."""
    async with state(request).db.transaction() as session:
        key, row = await platform_keys.issue(session, name=body.name)
    return PlatformKeyCreated(key=key, prefix=row.prefix)


@router.get("", response_model=PlatformKeyList)
async def list_platform_keys(request: Request) -> PlatformKeyList:
    gw = state(request)
    await gw.platform_key_usage.flush()
    async with gw.db.sessions() as session:
        rows = await platform_keys.live(session)
    return PlatformKeyList(items=[PlatformKeyItem.model_validate(row, from_attributes=True) for row in rows])


@router.delete("/{prefix}", status_code=204)
async def revoke_platform_key(prefix: str, request: Request) -> Response:
    """Refused at once on every replica (the revocation broadcast of `revocations.py`)."""
    async with state(request).db.transaction() as session:
        if not await platform_keys.revoke(session, prefix=prefix):
            raise ApiError(404, "not_found", "platform key not found")
    await state(request).platform_key_cache.revoked(prefix)
    return Response(status_code=204)
