"""Asking the owning services for what a page shows; optional parts degrade to None."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from fastapi import Request

from contracts.base import Request as BusRequest
from contracts.billing.v1 import GetAccount
from runtime.messaging import RequestFailed, ServiceError
from services.gateway.api.deps import Principal
from services.gateway.api.rpc import ask


class Unavailable:
    """Stands in for a part of a page whose service did not answer (the page says "not available")."""

    def __bool__(self) -> bool:
        return False


UNAVAILABLE = Unavailable()


async def optional(awaitable: Awaitable[Any]) -> Any:
    try:
        return await awaitable
    except RequestFailed:
        return UNAVAILABLE
    except ServiceError as exc:
        if exc.code in ("not_found", "validation_error", "conflict"):
            raise
        return UNAVAILABLE


def fetch(request: Request, req: BusRequest, *, timeout: float | None = None) -> Awaitable[Any]:
    return optional(ask(request, req, timeout=timeout))


async def with_account(request: Request, principal: Principal, *parts: Awaitable[Any]) -> tuple[Any, ...]:
    """The tenant's profile (for its name and locale) alongside the page's own parts, concurrently."""
    account = fetch(request, GetAccount(tenant_id=principal.tenant_id))
    results = await asyncio.gather(account, *parts)
    profile = results[0].profile if results[0] else None
    return (profile, *results[1:])
