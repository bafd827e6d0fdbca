"""The browser's push opt-in: the VAPID public key from notify (`rpc.notify.push_config.v1`) and the
gateway's `GET /v1/push/vapid-public-key`; a subscription made with that key receives pushes."""

from __future__ import annotations

from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from contracts.notify.v1 import GetPushConfig
from devtools.infra import service_nats_settings
from services.notify.app import build as build_notify
from services.notify.channels.push import generate_vapid_private_key
from services.notify.config import NotifySettings
from tests.support.push_endpoint import PushEndpoint, b64url_decode, b64url_encode
from tests.support.stack import billing, create_tenant, eventually, gateway, nats_client, running

from .conftest import portal_event


def public_key_of(private_key: str) -> str:
    """The uncompressed P-256 point of a raw base64url VAPID private key, as a browser wants it."""
    secret = ec.derive_private_key(int.from_bytes(b64url_decode(private_key), "big"), ec.SECP256R1())
    return b64url_encode(secret.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


@asynccontextmanager
async def portal_stack(nats_url, database_url, new_schema, tmp_path, vapid_private_key: str):
    """Billing (tenants), notify with `vapid_private_key`, and a gateway serving HTTP."""
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(running(billing(nats_url, database_url, new_schema("bil"))))
        await stack.enter_async_context(
            running(
                build_notify(
                    NotifySettings(
                        **service_nats_settings(nats_url, "notify"),
                        database_url=database_url,
                        db_schema=new_schema("notify"),
                        app_env="test",
                        port=0,
                        var_dir=str(tmp_path),
                        vapid_private_key=vapid_private_key,
                    )
                )
            )
        )
        gw = await stack.enter_async_context(
            running(gateway(nats_url, database_url, new_schema("gw")), serve_http=True)
        )
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=f"http://127.0.0.1:{gw.port}", timeout=10))
        yield http


async def test_notify_answers_the_public_key_of_its_configured_vapid_key(notify_stack):
    private_key = generate_vapid_private_key()
    async with notify_stack(vapid_private_key=private_key) as stack:
        reply = await stack.ask(GetPushConfig())
    point = b64url_decode(reply.vapid_public_key)
    assert reply.vapid_public_key == public_key_of(private_key)
    assert len(point) == 65 and point[0] == 0x04 and "=" not in reply.vapid_public_key


async def test_a_browser_subscribed_with_the_gateways_key_receives_pushes(nats_url, database_url, new_schema, tmp_path):
    private_key = generate_vapid_private_key()
    async with portal_stack(nats_url, database_url, new_schema, tmp_path, private_key) as http:
        tenant_id, auth = await create_tenant(http)
        assert (await http.get("/v1/push/vapid-public-key")).status_code == 401
        response = await http.get("/v1/push/vapid-public-key", headers=auth)
        assert response.status_code == 200, response.text
        public_key = response.json()["public_key"]
        assert response.json() == {"public_key": public_key_of(private_key)}

        # A push service that, like a browser's, only accepts pushes signed by the key subscribed with.
        async with PushEndpoint(vapid_public_key=public_key) as push, nats_client(nats_url) as nc:
            subscribed = await http.post("/v1/push-subscriptions", json=push.subscribe(), headers=auth)
            assert subscribed.status_code == 201, subscribed.text
            event = portal_event(tenant_id, "topup.succeeded", topup_id="top_1", amount_cents=5000, bonus_cents=0)
            await nc.jetstream().publish(
                event.subject_for(), event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id}
            )
            await eventually(lambda: push.received or push.refused, timeout=20)
            assert push.refused == []
            assert [p.json["type"] for p in push.received] == ["topup.succeeded"]


async def test_the_key_route_answers_503_while_notify_is_not_reachable(nats_url, database_url, new_schema):
    async with (
        running(billing(nats_url, database_url, new_schema("bil"))),
        running(gateway(nats_url, database_url, new_schema("gw"), request_timeout_s=0.5), serve_http=True) as gw,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{gw.port}", timeout=10) as http,
    ):
        _, auth = await create_tenant(http)
        response = await http.get("/v1/push/vapid-public-key", headers=auth)
    assert response.status_code == 503 and response.json()["error"]["code"] == "unavailable"


async def test_without_a_configured_key_notify_answers_the_key_it_generated_and_kept(notify_stack, tmp_path):
    async with notify_stack() as stack:
        first = await stack.ask(GetPushConfig())
    async with notify_stack() as stack:  # restarted: the same key, or existing subscriptions would break
        again = await stack.ask(GetPushConfig())
    kept = (tmp_path / "notify-vapid.key").read_text().strip()
    assert first.vapid_public_key == again.vapid_public_key == public_key_of(kept)
