"""`GET /v1/stream`: first message, heartbeats, resume without gap or duplicate, slow clients, replicas."""

import asyncio
import contextlib
import json
import socket

import httpx
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from contracts.portal.v1 import PortalEvent
from tests.support.stack import SseReader, create_tenant, eventually, gateway, publish_usage, running


async def test_first_message_is_the_balance_then_heartbeats(stack):
    async with stack(sse_heartbeat_s=0.2) as s:
        tenant_id, auth = await create_tenant(s.http)
        async with s.http.stream("GET", "/v1/stream", headers=auth) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["x-accel-buffering"] == "no"
            sse = SseReader(response)
            first = await sse.next()
            assert first["event"] == "balance.updated" and int(first["id"]) >= 0
            assert json.loads(first["data"]) == {"balance_cents": 0, "available_cents": 0}
            hub = s.gateway.http_app.state.gateway.hub
            (client,) = hub.clients[tenant_id]
            assert client.transport is not None  # live messages take the socket fast path
            await asyncio.wait_for(_heartbeats(sse.lines, 2), 5)


async def _heartbeats(lines, wanted: int) -> None:
    seen = 0
    async for line in lines:
        seen += line == ": heartbeat"
        if seen == wanted:
            return


async def _stream_ids(js, tenant_id: str, after: int) -> list[int]:
    """What the PORTAL stream holds for the tenant after `after`: the truth a resume must match."""
    sub = await js.pull_subscribe(
        "portal.>",
        stream="PORTAL",
        config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1),
    )
    ids = []
    try:
        while True:
            try:
                msgs = await sub.fetch(200, timeout=0.5)
            except TimeoutError:
                return ids
            ids += [m.metadata.sequence.stream for m in msgs if json.loads(m.data)["tenant_id"] == tenant_id]
    finally:
        await sub.unsubscribe()


async def test_resume_replays_exactly_what_was_missed_while_traffic_goes_on(stack):
    async with stack() as s:
        tenant_id, auth = await create_tenant(s.http)
        async with s.http.stream("GET", "/v1/stream", headers=auth) as response:
            last_id = int((await SseReader(response).next())["id"])
        for n in range(5):  # missed while disconnected
            await publish_usage(s.js, usage_id=f"{tenant_id}-a{n}", tenant_id=tenant_id, amount_cents=100)
        await eventually(lambda: _balance_is(s.http, auth, -500))

        async def more_traffic():
            for n in range(20):
                await publish_usage(s.js, usage_id=f"{tenant_id}-b{n}", tenant_id=tenant_id, amount_cents=10)
                await asyncio.sleep(0.01)

        traffic = asyncio.create_task(more_traffic())
        received: list[int] = []
        async with s.http.stream("GET", "/v1/stream", headers={**auth, "Last-Event-ID": str(last_id)}) as response:
            sse = SseReader(response)
            balance = None
            while balance != -700:
                message = await sse.next()
                received.append(int(message["id"]))
                if message["event"] == "balance.updated":
                    balance = json.loads(message["data"])["balance_cents"]
            await traffic
            await asyncio.sleep(0.3)
            expected = await _stream_ids(s.js, tenant_id, last_id)
            while len(received) < len(expected):
                received.append(int((await sse.next())["id"]))
        assert received == expected  # in order, none missing, none twice
        assert len(expected) > 25  # a transaction.created per debit, a balance.updated per batch


async def _balance_is(http, auth, cents: int) -> bool:
    return (await http.get("/v1/balance", headers=auth)).json()["balance_cents"] == cents


async def test_a_client_that_does_not_read_is_disconnected(stack):
    async with stack(sse_queue_size=10, sse_max_buffer_bytes=4096, sse_heartbeat_s=60) as s:
        tenant_id, auth = await create_tenant(s.http)
        hub = s.gateway.http_app.state.gateway.hub
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", s.gateway.port))
        sock.sendall(f"GET /v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: {auth['Authorization']}\r\n\r\n".encode())
        await eventually(lambda: tenant_id in hub.clients)
        async with (
            httpx.AsyncClient(base_url=str(s.http.base_url), timeout=10) as reader_http,
            reader_http.stream("GET", "/v1/stream", headers=auth) as response,
        ):
            reader = SseReader(response)
            await reader.next()

            async def read_all() -> int:  # a client that keeps up, meanwhile
                while True:
                    n = json.loads((await reader.next(timeout=30))["data"])["balance_cents"]
                    if n == 299:
                        return n

            reading = asyncio.create_task(read_all())
            await eventually(lambda: len(hub.clients.get(tenant_id, ())) == 2)
            big = "x" * 20_000
            for n in range(300):  # ~6 MB: more than any socket buffer holds
                event = PortalEvent(
                    type="balance.updated",
                    tenant_id=tenant_id,
                    data={"balance_cents": n, "transaction_id": f"{n}{big}"},
                )
                await s.js.publish(event.subject_for(), event.model_dump_json().encode())
            await eventually(lambda: len(hub.clients.get(tenant_id, ())) == 1, timeout=15)
            assert await reading == 299  # the reading client got everything
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        with __import__("contextlib").suppress(ConnectionResetError):
            while await asyncio.wait_for(loop.sock_recv(sock, 65536), 5):
                pass  # drains what was sent, then the end of the connection
        sock.close()


async def test_two_replicas_each_deliver_to_their_own_clients(stack, nats_url, database_url):
    async with stack() as s:
        second = gateway(nats_url, database_url, s.gateway.settings.db_schema)
        async with (
            running(second, serve_http=True) as gw2,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{gw2.port}", timeout=10) as http2,
        ):
            tenant_id, auth = await create_tenant(s.http)
            async with (
                s.http.stream("GET", "/v1/stream", headers=auth) as r1,
                http2.stream("GET", "/v1/stream", headers=auth) as r2,
            ):
                one, two = SseReader(r1), SseReader(r2)
                await one.next()
                await two.next()
                await publish_usage(s.js, usage_id=f"{tenant_id}-1", tenant_id=tenant_id, amount_cents=250)
                a = await one.until("balance.updated")
                b = await two.until("balance.updated")
                assert a == b and json.loads(a["data"])["balance_cents"] == -250


async def test_an_open_stream_holds_no_request_and_ends_with_its_socket(stack):
    """The hub adopts the socket: uvicorn keeps neither the connection nor a request task for an open
    stream (what made a stream cost 25 KiB), and the client going away still frees its place."""
    async with stack() as s:
        tenant_id, auth = await create_tenant(s.http)
        hub = s.gateway.http_app.state.gateway.hub
        server_state = s.gateway._server.server_state
        async with httpx.AsyncClient(base_url=str(s.http.base_url), timeout=10) as own:
            async with own.stream("GET", "/v1/stream", headers=auth) as response:
                sse = SseReader(response)
                await sse.next()
                (client,) = hub.clients[tenant_id]
                assert client.transport.get_protocol() is client
                assert not any(getattr(c, "transport", None) is client.transport for c in server_state.connections)
                await eventually(lambda: not server_state.tasks)  # the request ended; the stream goes on
                await publish_usage(s.js, usage_id=f"{tenant_id}-1", tenant_id=tenant_id, amount_cents=100)
                assert json.loads((await sse.until("balance.updated"))["data"])["balance_cents"] == -100
            await eventually(lambda: hub.open_streams(tenant_id) == 0)
            assert client.closed


async def test_a_stream_ends_when_its_session_expires(stack):
    from datetime import timedelta

    import sqlalchemy as sa

    from contracts.base import utcnow
    from services.gateway.tables import PortalSession
    from tests.integration.gateway.test_portal_auth import browser, log_in, portal_user

    async with stack(sse_heartbeat_s=0.2) as s, browser(s) as web:
        tenant_id, _ = await portal_user(s)
        assert (await log_in(web, "anna@muster.example")).status_code == 303
        gw = s.gateway.http_app.state.gateway
        async with gw.db.transaction() as session:
            await session.execute(sa.update(PortalSession).values(expires_at=utcnow() + timedelta(seconds=1.5)))
        async with web.stream("GET", "/v1/stream") as response:
            sse = SseReader(response)
            await sse.next()
            assert gw.hub.open_streams(tenant_id) == 1
            with contextlib.suppress(httpx.HTTPError), pytest.raises(EOFError):
                while True:
                    await sse.next(timeout=5)
        await eventually(lambda: gw.hub.open_streams(tenant_id) == 0)
