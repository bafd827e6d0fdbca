"""Asking the owning service over NATS request/reply, with the gateway's timeout."""

from fastapi import Request

from contracts.base import Request as BusRequest
from runtime.messaging import request


async def ask(http: Request, req: BusRequest, *, timeout: float | None = None):
    gw = http.app.state.gateway
    return await request(gw.nc, req, timeout=timeout or gw.settings.request_timeout_s)
