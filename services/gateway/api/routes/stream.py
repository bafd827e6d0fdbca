"""`GET /v1/stream`: the tenant's customer-visible events as Server-Sent Events (see `sse.py`)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Header, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from contracts.billing.v1 import GetBalance
from services.gateway.api.deps import CurrentTenant, state
from services.gateway.api.errors import ApiError
from services.gateway.api.rpc import ask
from services.gateway.sse import CLOSE, Client

router = APIRouter(prefix="/v1", tags=["stream"])


@router.get("/stream", response_class=EventSourceResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}})
async def stream(tenant_id: CurrentTenant, request: Request,
                 last_event_id: str | None = Header(None, alias="Last-Event-ID")) -> EventSourceResponse:
    resume_from = _parse_last_event_id(last_event_id)
    gw = state(request)
    client = gw.hub.register(tenant_id)
    try:
        upto = await gw.hub.last_seq()
        first = (await gw.hub.replay(tenant_id, after=resume_from, upto=upto) if resume_from is not None
                 else [await _current_balance(request, tenant_id, upto)])
    except BaseException:
        gw.hub.unregister(client)
        raise
    client.floor = upto
    return EventSourceResponse(
        _events(gw, client, first),
        ping=gw.settings.sse_heartbeat_s,
        ping_message_factory=lambda: ServerSentEvent(comment="heartbeat"),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _parse_last_event_id(value: str | None) -> int | None:
    if value is None or value.strip() == "":
        return None
    try:
        seq = int(value)
    except ValueError as exc:
        raise ApiError(400, "validation_error", "Last-Event-ID must be an id this stream sent") from exc
    if seq < 0:
        raise ApiError(400, "validation_error", "Last-Event-ID must be an id this stream sent")
    return seq


async def _current_balance(request: Request, tenant_id: str, seq: int) -> ServerSentEvent:
    balance = await ask(request, GetBalance(tenant_id=tenant_id))
    data = {"balance_cents": balance.balance_cents, "available_cents": balance.available_cents}
    return ServerSentEvent(id=str(seq), event="balance.updated", data=json.dumps(data))


async def _events(gw, client: Client, first: list):
    try:
        for item in first:
            yield item if isinstance(item, ServerSentEvent) else ServerSentEvent(
                id=str(item.seq), event=item.event, data=item.data)
        while True:
            item = await client.queue.get()
            if item is CLOSE:
                return
            if item.seq > client.floor:
                yield ServerSentEvent(id=str(item.seq), event=item.event, data=item.data)
    finally:
        gw.hub.unregister(client)
