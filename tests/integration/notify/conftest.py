"""Notify on real NATS and PostgreSQL, with real peers: an SMTP sink, a Twilio stand-in, a push
service that decrypts, and (per test) webhook receivers that verify with `standardwebhooks`."""

from __future__ import annotations

import base64
import json
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
import pytest_asyncio
from standardwebhooks import Webhook

from contracts.base import new_id
from contracts.billing.v1 import AccountProfile, AccountUpdated
from contracts.notify.v1 import CreateWebhookEndpoint
from contracts.portal.v1 import PortalEvent
from devtools.infra import service_nats_settings
from devtools.smtp_sink import SmtpSink
from devtools.twilio_stub import TwilioStub
from runtime.messaging import request
from services.notify.app import build
from services.notify.channels.webhook import generate_secret
from services.notify.config import NotifySettings
from tests.support.push_endpoint import PushEndpoint
from tests.support.stack import eventually, nats_client, running
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture
def smtp():
    with SmtpSink() as sink:
        yield sink


@pytest_asyncio.fixture
async def twilio():
    async with TwilioStub() as stub:
        yield stub


@pytest_asyncio.fixture
async def push_service():
    async with PushEndpoint() as push:
        yield push


@dataclass
class Stack:
    service: object
    nc: object

    @property
    def js(self):
        return self.nc.jetstream()

    async def publish(self, event: PortalEvent, *, msg_id: str | None = None) -> None:
        await self.js.publish(
            event.subject_for(), event.model_dump_json().encode(), headers={"Nats-Msg-Id": msg_id or event.id}
        )

    async def profile(
        self,
        tenant_id: str,
        *,
        email: str = "kunde@example.com",
        phone: str | None = "+4915112345678",
        locale: str = "de",
        name: str = "Beispiel GmbH",
    ) -> None:
        event = AccountUpdated(
            tenant_id=tenant_id,
            profile=AccountProfile(tenant_id=tenant_id, name=name, email=email, phone=phone, locale=locale),
        )
        await self.js.publish(event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.event_id})

    async def ask(self, req):
        return await request(self.nc, req, timeout=5)

    async def endpoint(self, tenant_id: str, url: str, events: list[str]):
        return (await self.ask(CreateWebhookEndpoint(tenant_id=tenant_id, url=url, events=events))).item

    @asynccontextmanager
    async def receiver(self, tenant_id: str, events: list[str]):
        """A customer endpoint registered for `events`, verifying with the secret notify issued."""
        async with WebhookReceiver(generate_secret()) as receiver:
            endpoint = await self.endpoint(tenant_id, receiver.url_for(), events)
            receiver.verifier = Webhook(endpoint.secret)
            yield receiver, endpoint


@pytest.fixture
def notify_stack(nats_url, database_url, new_schema, smtp, twilio, tmp_path):
    """`async with notify_stack(**settings) as stack:` — a running notify plus a NATS client."""

    @asynccontextmanager
    async def start(**overrides):
        settings = NotifySettings(
            **service_nats_settings(nats_url, "notify"),
            database_url=database_url,
            db_schema=new_schema("notify"),
            app_env="test",
            port=0,
            var_dir=str(tmp_path),
            smtp_host=smtp.host,
            smtp_port=smtp.port,
            twilio_account_sid=twilio.account_sid,
            twilio_auth_token=twilio.auth_token,
            twilio_api_base=twilio.url,
            **overrides,
        )
        async with running(build(settings)) as service, nats_client(nats_url) as nc:
            yield Stack(service, nc)

    return start


def portal_event(tenant_id: str, type_: str, **data) -> PortalEvent:
    return PortalEvent(id=new_id("evt_"), type=type_, tenant_id=tenant_id, data=data)


async def contact_known(stack: Stack, tenant_id: str) -> None:
    """Wait until notify has the tenant's profile (it arrives on another stream)."""
    from services.notify.tables import Contact

    async def known():
        async with stack.service.db.sessions() as session:
            return await session.get(Contact, tenant_id)

    await eventually(known)


async def serve_documents(nc, pdf: bytes, *, asked: list | None = None):
    """A stand-in for the documents service's `rpc.documents.file.v1`."""

    async def answer(msg):
        req = json.loads(msg.data)
        if asked is not None:
            asked.append(req)
        await msg.respond(
            json.dumps(
                {
                    "content_b64": base64.b64encode(pdf).decode(),
                    "media_type": "application/pdf",
                    "filename": f"{req['document_id']}.pdf",
                }
            ).encode()
        )

    return await nc.subscribe("rpc.documents.file.v1", cb=answer)
