"""Sessions and keys end what they opened: an SSE stream does not outlive its credential.

Before the fix, a stream opened with an API key stayed open after the key was revoked, and one
opened with a portal session after logout or a password reset, on every replica; a tenant could
open streams without bound, and every `Last-Event-ID` replay scanned the stream at no cost to it.
"""

import asyncio
import contextlib
import json

import httpx
import sqlalchemy as sa

from contracts.base import utcnow
from contracts.gateway.v1 import GetPasswordResetLink, PasswordResetIssued
from contracts.portal.v1 import PortalEvent
from runtime.messaging import request
from services.gateway.stream_sweep import sweep_once
from services.gateway.tables import ApiKey
from tests.integration.gateway.test_portal_auth import log_in, meta_token, portal_user
from tests.security.conftest import form_token
from tests.support.stack import ADMIN, SseReader, create_tenant, gateway, running

EMAIL = "anna@muster.example"


@contextlib.asynccontextmanager
async def second_replica(s, nats_url, database_url, **settings):
    replica = gateway(nats_url, database_url, s.gateway.settings.db_schema, **settings)
    async with (
        running(replica, serve_http=True) as gw2,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{gw2.port}", timeout=10) as http2,
    ):
        yield http2


@contextlib.asynccontextmanager
async def open_stream(client: httpx.AsyncClient, **kwargs):
    async with client.stream("GET", "/v1/stream", **kwargs) as response:
        assert response.status_code == 200, response.status_code
        reader = SseReader(response)
        assert (await reader.next())["event"] == "balance.updated"
        yield reader


async def answer_to(client: httpx.AsyncClient, headers: dict) -> httpx.Response:
    """The answer to opening a stream, without waiting for a stream that opened to end."""
    async with client.stream("GET", "/v1/stream", headers=headers, timeout=30) as response:
        if response.status_code != 200:
            await response.aread()
        return response


async def ends_within(reader: SseReader, seconds: float) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            await reader.next(timeout=left)  # a message: still open, read on
        except (EOFError, httpx.HTTPError):
            return True
        except TimeoutError:
            return False
    return False


async def test_revoking_a_key_closes_its_streams_on_every_replica(stack, nats_url, database_url):
    async with stack() as s, second_replica(s, nats_url, database_url) as replica:
        _, auth = await create_tenant(s.http)
        prefix = auth["Authorization"].removeprefix("Bearer ")[:12]
        async with open_stream(replica, headers=auth) as there, open_stream(s.http, headers=auth) as here:
            assert (await s.http.delete(f"/admin/v1/api-keys/{prefix}", headers=ADMIN)).status_code == 204
            assert await ends_within(there, 5), "the other replica's stream outlived the revoked key"
            assert await ends_within(here, 5)
        assert (await answer_to(replica, auth)).status_code == 401


async def test_logging_out_closes_the_sessions_streams_on_every_replica(stack, nats_url, database_url):
    async with stack() as s, second_replica(s, nats_url, database_url) as replica:
        await portal_user(s, EMAIL)
        assert (await log_in(s.http, EMAIL)).status_code == 303
        cookies = {"pp_session": s.http.cookies["pp_session"]}
        async with open_stream(replica, cookies=cookies) as there:
            csrf = meta_token((await s.http.get("/")).text)
            assert (await s.http.post("/logout", data={"csrf_token": csrf})).status_code == 303
            assert await ends_within(there, 5), "the stream outlived the logout"


async def test_a_password_reset_closes_the_users_streams_on_every_replica(stack, nats_url, database_url):
    async with stack("notify") as s, second_replica(s, nats_url, database_url) as replica:
        await portal_user(s, EMAIL)
        assert (await log_in(s.http, EMAIL)).status_code == 303
        cookies = {"pp_session": s.http.cookies["pp_session"]}
        async with open_stream(replica, cookies=cookies) as there:
            resets: asyncio.Queue[str] = asyncio.Queue()

            async def seen(msg):
                await resets.put(json.loads(msg.data)["reset_id"])

            await s.nc.subscribe(PasswordResetIssued.subject, cb=seen)
            async with httpx.AsyncClient(base_url=str(s.http.base_url), timeout=10) as web:
                page = await web.get("/password-reset")
                await web.post("/password-reset", data={"email": EMAIL, "csrf_token": form_token(page.text)})
                link = await request(s.nc, GetPasswordResetLink(reset_id=await asyncio.wait_for(resets.get(), 10)))
                page = await web.get("/password-reset/new")
                done = await web.post(
                    "/password-reset/new",
                    data={
                        "token": link.reset_url.partition("#token=")[2],
                        "password": "a new passphrase",
                        "password_repeat": "a new passphrase",
                        "csrf_token": form_token(page.text),
                    },
                )
                assert done.status_code == 303
            assert await ends_within(there, 5), "the stream outlived the password reset"


async def test_a_tenant_cannot_open_streams_without_bound(stack):
    async with stack(sse_max_streams_per_tenant=2) as s:
        _, auth = await create_tenant(s.http)
        async with open_stream(s.http, headers=auth), open_stream(s.http, headers=auth):
            refused = await answer_to(s.http, auth)
            assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
            assert int(refused.headers["retry-after"]) >= 1
        async with open_stream(s.http, headers=auth):  # a closed stream frees its place
            pass


async def test_expensive_replays_wait_for_a_bounded_number_of_slots(stack):
    async with stack(sse_replay_concurrency=1, sse_replay_wait_s=0.01) as s:
        _, auth = await create_tenant(s.http)
        others = [
            PortalEvent(id=f"evt_{n}", type="balance.updated", tenant_id="ten_other", data={"balance_cents": n})
            for n in range(5000)
        ]
        await asyncio.gather(*(s.js.publish(e.subject_for(), e.model_dump_json().encode()) for e in others))
        resume_from_the_start = {**auth, "Last-Event-ID": "1"}
        resume_just_now = {**auth, "Last-Event-ID": str((await s.js.stream_info("PORTAL")).state.last_seq)}
        *answers, short = await asyncio.gather(
            *(answer_to(s.http, resume_from_the_start) for _ in range(4)), answer_to(s.http, resume_just_now)
        )
        statuses = [a.status_code for a in answers]
        assert 503 in statuses and 200 in statuses, statuses
        assert all(a.headers.get("retry-after") for a in answers if a.status_code == 503)
        assert short.status_code == 200  # a reconnect after a short break never waits for a slot


async def test_a_replica_that_missed_the_broadcast_ends_the_stream_at_its_next_sweep(stack):
    async with stack() as s:
        _, auth = await create_tenant(s.http)
        prefix = auth["Authorization"].removeprefix("Bearer ")[:12]
        gw = s.gateway.http_app.state.gateway
        async with open_stream(s.http, headers=auth) as reader:
            async with gw.db.transaction() as session:  # revoked elsewhere; the broadcast never came
                await session.execute(sa.update(ApiKey).where(ApiKey.prefix == prefix).values(revoked_at=utcnow()))
            assert await sweep_once(hub=gw.hub, db=gw.db, ended=gw.revocations) == {f"key:{prefix}"}
            assert await ends_within(reader, 5)
