"""`GET /v1/stream`: the tenant's customer-visible events as Server-Sent Events (see `sse.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import json

from fastapi import APIRouter, Header, Request, Response

from contracts.billing.v1 import GetBalance
from services.gateway.api.deps import CurrentPrincipal, state
from services.gateway.api.errors import COMMON_RESPONSES, ApiError
from services.gateway.api.rpc import ask
from services.gateway.sse import ReplayBusy
from services.gateway.sse_clients import Client, Item

router = APIRouter(prefix="/v1", tags=["stream"], responses=COMMON_RESPONSES)
RAW_SEND = "gateway.raw_send"  # the server's own `send`, put in the scope by GatewayApp
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


@router.get(
    "/stream",
    response_class=Response,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "Server-Sent Events: `id:`, `event:`, JSON `data:`; `: heartbeat`",
        }
    },
)
async def stream(
    principal: CurrentPrincipal, request: Request, last_event_id: str | None = Header(None, alias="Last-Event-ID")
) -> Response:
    resume_from = _parse_last_event_id(last_event_id)
    gw, tenant_id = state(request), principal.tenant_id
    if gw.hub.open_streams(tenant_id) >= gw.settings.sse_max_streams_per_tenant:
        raise ApiError(
            429, "rate_limited", f"at most {gw.settings.sse_max_streams_per_tenant} open streams", {"Retry-After": "30"}
        )
    # Buffering from here: nothing published after `upto` is missed.
    client = gw.hub.register(tenant_id, credential=principal.credential, ends_at=principal.ends_at)
    try:
        if gw.revocations.ended(principal.credential):  # ended while this request was authenticated
            raise ApiError(401, "unauthenticated", "missing or invalid credentials", {"WWW-Authenticate": "Bearer"})
        upto = await gw.hub.last_seq()
        first = (
            await gw.hub.replay(tenant_id, after=resume_from, upto=upto)
            if resume_from is not None
            else [await _current_balance(request, tenant_id, upto)]
        )
    except ReplayBusy:
        gw.hub.unregister(client)
        raise ApiError(503, "unavailable", "too many replays at once", {"Retry-After": "5"}) from None
    except BaseException:
        gw.hub.unregister(client)
        raise
    return EventStream(gw.hub, client, first, floor=upto)


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


async def _current_balance(request: Request, tenant_id: str, seq: int) -> Item:
    balance = await ask(request, GetBalance(tenant_id=tenant_id))
    data = {"balance_cents": balance.balance_cents, "available_cents": balance.available_cents}
    return Item.event(seq, "balance.updated", json.dumps(data, separators=(",", ":")))


class EventStream(Response):
    """Streams the first messages, then hands the socket to the hub (`adopt`) and ends the request;
    under another server than uvicorn + httptools it feeds the client's queue until the client goes."""

    def __init__(self, hub, client: Client, first: list[Item], *, floor: int) -> None:
        super().__init__(status_code=200)
        self.hub, self.client, self.first, self.floor = hub, client, first, floor

    async def __call__(self, scope, receive, send) -> None:
        adopted = False
        try:
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
            await send(
                {
                    "type": "http.response.body",
                    "body": b"".join(i.frame for i in self.first) or b": open\n\n",
                    "more_body": True,
                }
            )
            adopted = adopt(scope, self.client, floor=self.floor)
            if not adopted:
                self.client.activate(floor=self.floor)
                await self._pump(receive, send)
        finally:
            if not adopted:
                self.hub.unregister(self.client)

    async def _pump(self, receive, send) -> None:
        watcher = asyncio.create_task(_close_on_disconnect(receive, self.client))
        try:
            while (item := await self.client.queue.get()) is not None:
                await send({"type": "http.response.body", "body": item.frame, "more_body": True})
            with contextlib.suppress(Exception):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()


async def _close_on_disconnect(receive, client: Client) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    client.close()


def adopt(scope, client: Client, *, floor: int) -> bool:
    """Make `client` the protocol of the request's socket and let the request end (uvicorn + httptools).

    What an open stream then holds is the client and the transport: not the request's task, its
    coroutines through every middleware, its scope, uvicorn's protocol and parser (25 KiB a stream,
    9 in 10 of it). uvicorn is told the response is complete (its task ends without closing the
    socket) and forgets the connection (its shutdown does not wait for it: `Hub.stop` closes every
    stream first). False, and nothing changed, under any other server or when the client is gone.
    """
    cycle = getattr(scope.get(RAW_SEND), "__self__", None)
    if getattr(cycle, "chunked_encoding", None) is not True or getattr(cycle, "response_complete", None) is not False:
        return False
    transport = getattr(cycle, "transport", None)
    if not all(hasattr(transport, name) for name in ("get_protocol", "set_protocol", "get_write_buffer_size")):
        return False
    server = transport.get_protocol()
    connections = getattr(server, "connections", None)
    if not isinstance(connections, set) or server not in connections or transport.is_closing():
        return False  # the client went away meanwhile: the request's own disconnect ends it
    cycle.response_complete = True
    connections.discard(server)
    transport.set_protocol(client)
    if not transport.is_reading():
        transport.resume_reading()  # or the client's going away would go unnoticed
    client.activate(floor=floor, transport=transport)
    return True
