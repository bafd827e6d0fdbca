"""Stripe's Idempotency-Key semantics for POSTs, which localstripe ignores.

The same key (per API key) with the same path and body replays the first response,
with ``Idempotent-Replayed: true``; with another path or body it answers Stripe's 400
``idempotency_error``. Concurrent requests with one key are serialised, so the second
one replays the first. Like Stripe, only responses of requests that ran are kept
(2xx and card errors), not validation or authentication failures.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

from aiohttp import web

REPLAYABLE = {200, 201, 402}


@dataclass(frozen=True)
class _Saved:
    fingerprint: str
    status: int
    body: bytes
    content_type: str


_saved: dict[tuple[str, str], _Saved] = {}
_locks: dict[tuple[str, str], asyncio.Lock] = {}


def _error(message: str) -> web.Response:
    body = {"error": {"type": "idempotency_error", "message": message}}
    return web.json_response(body, status=400)


@web.middleware
async def idempotency_middleware(request: web.Request, handler) -> web.StreamResponse:
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key:
        return await handler(request)
    scope = (request.headers.get("Authorization", ""), key)
    fingerprint = hashlib.sha256(request.path.encode() + b"\0" + await request.read()).hexdigest()
    async with _locks.setdefault(scope, asyncio.Lock()):
        saved = _saved.get(scope)
        if saved is not None:
            if saved.fingerprint != fingerprint:
                return _error(
                    "Keys for idempotent requests can only be used with the same parameters "
                    "they were first used with. Try using a key other than "
                    f"'{key}' if you meant to execute a different request."
                )
            headers = {"Idempotency-Key": key, "Idempotent-Replayed": "true"}
            return web.Response(status=saved.status, body=saved.body, content_type=saved.content_type, headers=headers)
        response = await handler(request)
        if response.status in REPLAYABLE and isinstance(response, web.Response) and response.body is not None:
            body = bytes(response.body)  # type: ignore[arg-type]
            _saved[scope] = _Saved(fingerprint, response.status, body, response.content_type)
        response.headers["Idempotency-Key"] = key
        return response
