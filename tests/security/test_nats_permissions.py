"""Attacks on the bus, against a real nats-server running the generated users and permissions.

Each test takes the view of someone holding one identity (or none) and tries what the permission
matrix (runtime.nats_permissions) must refuse: forge a payment, read another service's replies,
read customer events or password-reset requests, call internal requests, connect anonymously.
nats-py reports a refused publish or subscription only to the connection's error callback (the
server answers `-ERR 'Permissions Violation …'` and drops the message), so the tests collect those.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager

import nats
import pytest
from nats.errors import TimeoutError as NatsTimeout

from devtools.infra import NatsProcess
from devtools.tls import make_self_signed_cert
from runtime.nats_connect import connect
from runtime.settings import ServiceSettings


@pytest.fixture
def server():
    """Always a private server with the generated config: these tests are about that config."""
    nats_server = NatsProcess().start()
    yield nats_server
    nats_server.cleanup()


@asynccontextmanager
async def connected(server: NatsProcess, user: str, **options):
    """A connection as `user`; `nc.refusals` collects the server's permission violations."""
    refusals: list[str] = []

    async def on_error(exc: Exception) -> None:
        refusals.append(str(exc))

    nc = await nats.connect(
        server.bare_url, user=user, password=server.passwords[user], error_cb=on_error, allow_reconnect=False, **options
    )
    nc.refusals = refusals
    try:
        yield nc
    finally:
        await nc.close()


async def refused(nc, subject: str, *, kind: str = "publish") -> bool:
    """Whether the server refused `kind` (publish/subscription) to `subject` on this connection."""
    await nc.flush(timeout=2)
    for _ in range(40):
        if any(
            "permissions violation" in r.lower() and kind in r.lower() and subject.lower() in r.lower()
            for r in nc.refusals
        ):
            return True
        await asyncio.sleep(0.025)
    return False


async def stream_messages(server: NatsProcess, stream: str) -> int:
    async with connected(server, "operator") as nc:
        return (await nc.jetstream().stream_info(stream)).state.messages


async def test_the_gateway_cannot_publish_a_paid_topup(server):
    forged = {
        "event_id": "evt_forged",
        "tenant_id": "ten_victim",
        "topup_id": "top_forged",
        "amount_cents": 10**7,
        "payment_intent_id": "pi_forged",
        "paid_at": "2026-11-26T10:00:00Z",
    }
    async with connected(server, "gateway") as nc:
        await nc.publish("payments.topup.paid.v1", json.dumps(forged).encode())
        assert await refused(nc, "payments.topup.paid.v1")
        with pytest.raises((NatsTimeout, TimeoutError)):
            await nc.jetstream().publish("payments.topup.paid.v1", json.dumps(forged).encode(), timeout=0.5)
    assert await stream_messages(server, "PAYMENTS") == 0


async def test_the_platform_may_publish_usage_and_reserve_with_a_default_client(server):
    async with connected(server, "billing", inbox_prefix="_INBOX_billing") as billing:

        async def answer(msg) -> None:
            await msg.respond(json.dumps({"ok": True, "reservation_id": "res_1", "available_cents": 500}).encode())

        await billing.subscribe("billing.reserve.v1", queue="billing", cb=answer)
        await billing.flush()
        async with connected(server, "platform") as platform:  # nats-py's default `_INBOX.` prefix
            ack = await platform.jetstream().publish(
                "usage.recorded.v1", b'{"id": "u1"}', headers={"Nats-Msg-Id": "u1"}, timeout=2
            )
            assert ack.stream == "USAGE"
            reply = await platform.request("billing.reserve.v1", b'{"id": "r1"}', timeout=2)
            assert json.loads(reply.data)["ok"] is True
            assert platform.refusals == []


@pytest.mark.parametrize(
    "subject",
    [
        "portal.>",
        "portal.balance.updated.v1",
        "gateway.>",
        "gateway.password_reset.requested.v1",
        "rpc.>",
        "_INBOX_billing.>",
    ],
)
async def test_the_platform_cannot_listen_to_customer_events_reset_links_or_internal_requests(server, subject):
    async with connected(server, "platform") as platform:
        await platform.subscribe(subject)
        assert await refused(platform, subject, kind="subscription")


async def test_the_platform_cannot_read_any_stream_or_call_internal_requests(server):
    async with connected(server, "platform") as platform:
        js = platform.jetstream(timeout=0.5)
        with pytest.raises((NatsTimeout, TimeoutError)):
            await js.stream_info("GATEWAY")
        assert await refused(platform, "$JS.API.STREAM.INFO.GATEWAY")
        with pytest.raises(Exception):  # noqa: B017 - refused: a timeout or "no responders", never an answer
            await js.pull_subscribe("portal.>", durable="stolen", stream="PORTAL")
        assert await refused(platform, "$JS.API.CONSUMER")
        await platform.publish("rpc.billing.balance.v1", b'{"tenant_id": "ten_victim"}')
        assert await refused(platform, "rpc.billing.balance.v1")


async def test_a_service_cannot_read_another_services_replies_or_consumers(server):
    async with connected(server, "notify") as notify:
        await notify.subscribe("_INBOX_gateway.>")
        assert await refused(notify, "_INBOX_gateway.>", kind="subscription")
        await notify.publish("$JS.API.CONSUMER.MSG.NEXT.PAYMENTS.billing-topup-paid", b"1")
        assert await refused(notify, "$JS.API.CONSUMER.MSG.NEXT.PAYMENTS.billing-topup-paid")
    async with connected(server, "gateway") as gateway:  # it reads PORTAL, but never notify's durable
        await gateway.publish("$JS.API.CONSUMER.DELETE.PORTAL.notify-portal", b"")
        assert await refused(gateway, "$JS.API.CONSUMER.DELETE.PORTAL.notify-portal")
        await gateway.publish("$JS.API.CONSUMER.CREATE.PORTAL.notify-portal.portal.none", b"{}")
        assert await refused(gateway, "$JS.API.CONSUMER.CREATE.PORTAL.notify-portal.portal.none")


async def test_an_anonymous_connection_is_refused(server):
    with pytest.raises(Exception, match="Authorization Violation"):
        await nats.connect(server.bare_url, allow_reconnect=False, max_reconnect_attempts=0)
    with pytest.raises(Exception, match="Authorization Violation"):
        await nats.connect(
            server.bare_url, user="gateway", password="guessed", allow_reconnect=False, max_reconnect_attempts=0
        )


async def test_credentials_from_the_settings_are_used_and_none_means_anonymous(server):
    as_billing = ServiceSettings(
        nats_url=server.bare_url, nats_user="billing", nats_password=server.passwords["billing"]
    )
    nc = await connect(as_billing, name="billing")
    try:
        assert (await nc.jetstream().stream_info("BILLING")).config.name == "BILLING"
    finally:
        await nc.close()
    with pytest.raises(Exception, match="Authorization Violation"):
        await connect(
            ServiceSettings(nats_url=server.bare_url), name="billing", allow_reconnect=False, max_reconnect_attempts=0
        )
    open_server = NatsProcess(auth=False).start()  # an operator's server without authentication
    try:
        nc = await connect(ServiceSettings(nats_url=open_server.url), name="billing")
        await nc.flush(timeout=2)
        assert nc.is_connected
        await nc.close()
    finally:
        open_server.cleanup()


async def test_tls_to_nats_with_the_ca_from_the_settings(tmp_path):
    cert = make_self_signed_cert(tmp_path, common_name="localhost")
    tls_server = NatsProcess(tls=cert).start()
    try:
        settings = ServiceSettings(
            nats_url=tls_server.bare_url,
            nats_user="billing",
            nats_password=tls_server.passwords["billing"],
            nats_tls_ca=str(cert.cert_file),
        )
        nc = await connect(settings, name="billing")
        try:
            assert (await nc.jetstream().stream_info("BILLING")).config.name == "BILLING"
        finally:
            await nc.close()
        without_ca = ServiceSettings(
            nats_url=tls_server.bare_url, nats_user="billing", nats_password=tls_server.passwords["billing"]
        )
        with pytest.raises(Exception):  # noqa: B017 - the server demands TLS the client was not given
            await connect(
                without_ca, name="billing", allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2
            )
    finally:
        tls_server.cleanup()


async def test_a_server_that_verifies_clients_takes_the_certificate_from_the_settings(tmp_path):
    cert = make_self_signed_cert(tmp_path, common_name="localhost")
    mtls_server = NatsProcess(tls=cert, tls_verify_clients=True).start()
    try:
        settings = ServiceSettings(**mtls_server.service_settings("billing"))
        assert settings.nats_tls_cert
        nc = await connect(settings, name="billing")
        try:
            assert (await nc.jetstream().stream_info("BILLING")).config.name == "BILLING"
        finally:
            await nc.close()
        without_certificate = settings.model_copy(update={"nats_tls_cert": None, "nats_tls_key": None})
        with pytest.raises(Exception):  # noqa: B017 - the handshake fails without a client certificate
            await connect(
                without_certificate, name="billing", allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2
            )
    finally:
        mtls_server.cleanup()
