"""Every service that exists, in-process on one NATS, with the gateway serving HTTP and (when payments
exists) the Stripe emulator for hosted checkout."""

from __future__ import annotations

from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devtools.infra import service_nats_settings
from tests.support.stack import ADMIN, gateway, nats_client, running, tenant_body

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "whsec_browser_tests"


def service_exists(name: str) -> bool:
    return (ROOT / "services" / name / "app.py").exists()


@dataclass
class Stack:
    url: str
    nc: object
    http: httpx.AsyncClient
    emulator: object | None = None
    services: set[str] = field(default_factory=set)

    async def tenant(
        self, *, name: str = "Muster Telefonie GmbH", locale: str = "de", password: str = "correct horse battery"
    ) -> Tenant:
        response = await self.http.post("/admin/v1/tenants", json=tenant_body(name=name, locale=locale), headers=ADMIN)
        assert response.status_code == 201, response.text
        body = response.json()
        email = f"{body['id']}@portal.example"
        created = await self.http.post(
            f"/admin/v1/tenants/{body['id']}/users", json={"email": email, "password": password}, headers=ADMIN
        )
        assert created.status_code == 201, created.text
        return Tenant(id=body["id"], api={"Authorization": f"Bearer {body['api_key']}"}, email=email, password=password)


@dataclass(frozen=True)
class Tenant:
    id: str
    api: dict
    email: str
    password: str


@asynccontextmanager
async def full_stack(nats_url: str, database_url: str, schema, tmp: Path):
    async with AsyncExitStack() as stack:
        services = {"gateway"}
        if service_exists("billing"):
            from tests.support.stack import billing

            await stack.enter_async_context(running(billing(nats_url, database_url, schema("bil"))))
            services.add("billing")
        gw = await stack.enter_async_context(
            running(gateway(nats_url, database_url, schema("gw"), sse_heartbeat_s=5), serve_http=True)
        )
        url = f"http://127.0.0.1:{gw.port}"
        emulator = await _payments(stack, nats_url, database_url, schema, url, services)
        await _documents(stack, nats_url, database_url, schema, tmp, services)
        await _notify(stack, nats_url, database_url, schema, services)
        nc = await stack.enter_async_context(nats_client(nats_url))
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=30))
        yield Stack(url=url, nc=nc, http=http, emulator=emulator, services=services)


async def _payments(stack, nats_url, database_url, schema, portal_url, services):
    if not service_exists("payments"):
        return None
    from devtools.stripe_emulator import running_emulator
    from services.payments.app import build
    from services.payments.config import PaymentsSettings

    emulator = stack.enter_context(running_emulator())
    emulator.register_webhook(f"{portal_url}/webhooks/stripe", WEBHOOK_SECRET, name="browser-tests")
    settings = PaymentsSettings(
        **service_nats_settings(nats_url, "payments"),
        database_url=database_url,
        db_schema=schema("pay"),
        app_env="test",
        port=0,
        stripe_api_key=emulator.api_key,
        stripe_api_base=emulator.base_url,
        stripe_webhook_secret=WEBHOOK_SECRET,
        webhook_poll_s=0.2,
        portal_base_url=portal_url,
    )
    await stack.enter_async_context(running(build(settings)))
    services.add("payments")
    return emulator


async def _documents(stack, nats_url, database_url, schema, tmp: Path, services):
    if not service_exists("documents"):
        return
    from services.documents.app import build
    from services.documents.config import DocumentsSettings

    settings = DocumentsSettings(
        **service_nats_settings(nats_url, "documents"),
        database_url=database_url,
        db_schema=schema("doc"),
        app_env="test",
        port=0,
        documents_store=str(tmp / "documents"),
    )
    await stack.enter_async_context(running(build(settings)))
    services.add("documents")


async def _notify(stack, nats_url, database_url, schema, services):
    if not service_exists("notify"):
        return
    from services.notify.app import build
    from services.notify.config import NotifySettings

    settings = NotifySettings(
        **service_nats_settings(nats_url, "notify"),
        database_url=database_url,
        db_schema=schema("ntf"),
        app_env="test",
        port=0,
        smtp_port=1,
        var_dir=str(ROOT / "var"),
    )
    await stack.enter_async_context(running(build(settings)))
    services.add("notify")
