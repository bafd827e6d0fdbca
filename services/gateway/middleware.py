"""ASGI middleware: body size limit and request metrics."""

from __future__ import annotations

import time

from prometheus_client import Histogram

from services.gateway.api.errors import error_json

REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds", "Gateway request latency", ["method", "route", "status"],
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
                scope, receive, send)
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
                        scope, receive, send)
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
                    time.perf_counter() - started)
