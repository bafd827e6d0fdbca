"""ASGI middleware: body size limit, request metrics and the security headers of every response."""

from __future__ import annotations

import time

from prometheus_client import Histogram
from starlette.datastructures import MutableHeaders

from services.gateway.api.errors import error_json

REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds",
    "Gateway request latency",
    ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class BodyLimit:
    """Refuses bodies larger than `max_bytes` with 413 before the route reads them."""

    def __init__(self, app, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await error_json(413, "payload_too_large", f"body larger than {self.max_bytes} bytes")(
                scope, receive, send
            )
        received = 0
        refused = False

        async def guarded_send(message):
            if not refused:
                await send(message)

        async def limited_receive():
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes and not refused:
                    # Answer now; whatever the app makes of the cut-off body is not sent.
                    await error_json(413, "payload_too_large", f"body larger than {self.max_bytes} bytes")(
                        scope, receive, send
                    )
                    refused = True
                if refused:
                    return {"type": "http.disconnect"}
            return message

        return await self.app(scope, limited_receive, guarded_send)


class Metrics:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            if path != "/v1/stream":
                REQUEST_SECONDS.labels(scope["method"], path, str(status["code"])).observe(
                    time.perf_counter() - started
                )


PAGE_POLICY = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
PDF_POLICY = "default-src 'none'; frame-ancestors 'none'"
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"


def with_security_headers(send):
    """`send`, adding `nosniff` and a Content-Security-Policy to a response that does not bring its own.

    Wrapped around the server's own `send` (GatewayApp), so it covers every response, errors that
    Starlette answers itself included. Pages bring their policy (the portal's, `/docs`); anything
    else gets one by what it is: scripts and styles the portal's; a PDF `default-src 'none'`
    (Chrome's viewer will not open inside a sandboxed document); every other body (JSON, XML, CSV)
    is sandboxed too, so that a document a browser is talked into rendering runs nothing on our origin.
    """

    async def send_with_headers(message):
        if message["type"] == "http.response.start":
            headers = MutableHeaders(raw=list(message.get("headers", [])))
            headers.setdefault("x-content-type-options", "nosniff")
            headers.setdefault("content-security-policy", _policy(headers.get("content-type", "")))
            message = {**message, "headers": headers.raw}
        await send(message)

    return send_with_headers


def _policy(content_type: str) -> str:
    media = content_type.split(";")[0].strip().lower()
    if media in ("text/html", "text/css", "text/javascript", "application/javascript"):
        return PAGE_POLICY
    return PDF_POLICY if media == "application/pdf" else OTHER_POLICY
