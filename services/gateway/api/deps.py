"""Request dependencies: the gateway's state, who is calling, and their rate limit."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request

from services.gateway import client_address, credentials, revocations
from services.gateway.api.errors import ApiError

SESSION_COOKIE = "pp_session"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    via: str  # "api_key" or "session"
    rate_key: str
    credential: str  # what ends everything this caller opens (revocations.py)
    csrf_token: str | None = None
    user_id: str | None = None
    ends_at: datetime | None = None  # a session's expiry


def state(request: Request):
    return request.app.state.gateway


def bearer_token(request: Request) -> str:
    """What follows `Bearer ` in the Authorization header ("" without one)."""
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else ""


async def principal_or_none(request: Request) -> Principal | None:
    gw = state(request)
    if key := bearer_token(request):
        tenant_id = await gw.key_cache.owner_of(key)
        if tenant_id is None:
            return None
        prefix = key[: credentials.PREFIX_LEN]
        gw.key_usage.touch(prefix)
        return Principal(tenant_id, "api_key", rate_key=f"k:{prefix}", credential=revocations.api_key(prefix))
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        async with gw.db.sessions() as session:
            info = await credentials.session_for_token(session, token)
        if info:
            return Principal(
                info.tenant_id,
                "session",
                rate_key=f"u:{info.user_id}",
                csrf_token=info.csrf_token,
                user_id=info.user_id,
                credential=revocations.session(credentials.digest(token)),
                ends_at=info.expires_at,
            )
    return None


async def current_principal(request: Request) -> Principal:
    principal = await principal_or_none(request)
    if principal is None:
        await state(request).limiter.check(f"ip:{client_ip(request)}")
        raise ApiError(401, "unauthenticated", "missing or invalid credentials", {"WWW-Authenticate": "Bearer"})
    await state(request).limiter.check(principal.rate_key)
    if principal.via == "session" and request.method not in SAFE_METHODS:
        if cross_site(request):
            raise ApiError(403, "forbidden", "cross-site request refused")
        if not await csrf_matches(request, principal.csrf_token):
            raise ApiError(403, "forbidden", "missing or invalid CSRF token")
    return principal


async def csrf_matches(request: Request, expected: str | None) -> bool:
    """The `X-CSRF-Token` header, or a form's `csrf_token` field, equals the session's token."""
    sent = request.headers.get("x-csrf-token", "")
    content_type = request.headers.get("content-type", "")
    if not sent and content_type.startswith(FORM_TYPES):
        sent = str((await request.form()).get("csrf_token") or "")
    return bool(sent and expected and hmac.compare_digest(sent.encode(), expected.encode()))


def cross_site(request: Request) -> bool:
    """A browser said the request comes from another site (Sec-Fetch-Site, else Origin vs Host)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    if not origin:
        return False
    return origin == "null" or urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower()


async def current_tenant(principal: Annotated[Principal, Depends(current_principal)]) -> str:
    return principal.tenant_id


async def require_admin(request: Request) -> None:
    """The admin token (compared as bytes: any header decodes). Successful admin calls are never
    limited (API.md); failed attempts are, per client (`admin_token_matches`)."""
    if not await admin_token_matches(request, bearer_token(request)):
        raise ApiError(401, "unauthenticated", "admin token required", {"WWW-Authenticate": "Bearer"})


async def admin_token_matches(request: Request, sent: str) -> bool:
    """Whether `sent` is the admin token, for the admin API and the operator console's login alike.
    Failed attempts are limited per client (ADMIN_AUTH_FAILURES_PER_MINUTE, one count for both); once
    over, even the right token waits for the next window (429), or guessing would go on behind the 429s."""
    gw = state(request)
    caller, limit = f"admin-auth:{client_ip(request)}", gw.settings.admin_auth_failures_per_minute
    if await gw.limiter.exceeded(caller, limit=limit):
        await gw.limiter.check(caller, limit=limit)  # over the limit: raises 429 with Retry-After
    token = gw.settings.gateway_admin_token
    if not token or not sent or not hmac.compare_digest(sent.encode(), token.encode()):
        await gw.limiter.check(caller, limit=limit)
        return False
    return True


@dataclass(frozen=True)
class Platform:
    """The caller of `/ingest/v1/…`: a platform key's holder (it reports usage of any tenant it serves)."""

    prefix: str
    name: str


async def current_platform(request: Request) -> Platform:
    """A live platform key, the only credential `/ingest/v1/…` takes: an API key, the admin token or
    none answers 401 (counted per client address, as any unauthenticated call). Each key has its own
    limit, INGEST_RATE_LIMIT_PER_MINUTE, apart from the tenants' (API.md)."""
    gw = state(request)
    key = bearer_token(request)
    name = await gw.platform_key_cache.owner_of(key) if key else None
    if name is None:
        await gw.limiter.check(f"ip:{client_ip(request)}")
        raise ApiError(401, "unauthenticated", "a platform key is required", {"WWW-Authenticate": "Bearer"})
    prefix = key[: credentials.PREFIX_LEN]
    gw.platform_key_usage.touch(prefix)
    await gw.limiter.check(f"platform:{prefix}", limit=gw.settings.ingest_rate_limit_per_minute)
    return Platform(prefix, name)


def client_ip(request: Request) -> str:
    """The caller's address for per-IP limits: X-Forwarded-For counts only from TRUSTED_PROXIES."""
    return client_address.client_address(
        request.client.host if request.client else None,
        request.headers.getlist("x-forwarded-for"),
        state(request).settings.trusted_proxy_networks,
    )


CurrentTenant = Annotated[str, Depends(current_tenant)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
Admin = Depends(require_admin)
CurrentPlatform = Annotated[Platform, Depends(current_platform)]
