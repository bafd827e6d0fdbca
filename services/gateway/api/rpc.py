"""Asking the owning service over NATS request/reply, with the gateway's timeout."""

from fastapi import Request

from contracts.base import Request as BusRequest
from runtime.messaging import answer, raise_refusal, request


async def ask(http: Request, req: BusRequest, *, timeout: float | None = None):
    gw = http.app.state.gateway
    return await request(gw.nc, req, timeout=timeout or gw.settings.request_timeout_s)


async def ask_as_on_nats(http: Request, req: BusRequest):
    """The reply a NATS client gets, refusals that carry `ok: false` included (the reservations: API.md
    answers them over HTTP "the same as the NATS subjects, with 200"); an answer without `ok` — the
    request could not be handled at all (invalid, service unavailable or failing) — is an HTTP error."""
    gw = http.app.state.gateway
    data = await answer(gw.nc, req, timeout=gw.settings.request_timeout_s)
    if not (isinstance(data, dict) and "ok" in data):
        raise_refusal(data)
    return type(req).reply_model.model_validate(data)
