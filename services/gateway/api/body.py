"""Reading a request body by hand, with a cap: for routes that take a body FastAPI does not parse."""

from __future__ import annotations

from contextlib import aclosing

from fastapi import Request
from starlette.requests import ClientDisconnect

from services.gateway.api.errors import ApiError


async def capped_body(request: Request, *, limit: int) -> bytes:
    """The body as it arrives, refused with 413 as soon as it passes `limit` bytes: what comes after
    is never read, so a request holds at most `limit` bytes here however large it claims or grows."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    try:
        async with aclosing(request.stream()) as chunks:
            async for chunk in chunks:
                body += chunk
                if len(body) > limit:
                    raise _too_large(limit)
    except ClientDisconnect:  # nobody reads this answer: the client is gone, or BodyLimit has answered 413
        raise ApiError(400, "validation_error", "the body ended before it was complete") from None
    return bytes(body)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"body larger than {limit} bytes")
