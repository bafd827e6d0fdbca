"""The gateway with the services behind it, on real NATS and PostgreSQL.

`stack(*extra, **gateway_settings)` starts billing and one gateway (HTTP served), plus the other
services named in `extra` ("notify", "documents", "payments" — payments against the Stripe emulator);
`notify_settings` overrides notify's settings (e.g. an SMTP sink).
"""

from __future__ import annotations

import contextlib
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest

from devtools.infra import service_nats_settings
from runtime.service import Service
from tests.support.stack import billing, gateway, nats_client, running


@dataclass
class Stack:
    gateway: Service
    http: httpx.AsyncClient
    nc: object

    @property
    def js(self):
        return self.nc.jetstream()


@pytest.fixture(scope="session")
def stripe_emulator():
    from devtools.stripe_emulator import running_emulator

    with running_emulator() as emulator:
        yield emulator


def _other(
    name: str, nats_url: str, database_url: str, schema: str, tmp_path, request, notify_settings: dict | None = None
) -> Service:
    common = {
        **service_nats_settings(nats_url, name),
        "database_url": database_url,
        "db_schema": schema,
        "app_env": "test",
        "port": 0,
    }
    if name == "notify":
        from services.notify.app import build
        from services.notify.config import NotifySettings

        return build(NotifySettings(**common, var_dir=str(tmp_path), **(notify_settings or {})))
    if name == "documents":
        from services.documents.app import build
        from services.documents.config import DocumentsSettings

        return build(DocumentsSettings(**common, documents_store=str(tmp_path / "documents")))
    if name == "payments":
        from services.payments.app import build
        from services.payments.config import PaymentsSettings

        emulator = request.getfixturevalue("stripe_emulator")
        return build(
            PaymentsSettings(
                **common,
                stripe_api_key=emulator.api_key,
                stripe_api_base=emulator.base_url,
                stripe_webhook_secret="whsec_gateway_tests",
                portal_base_url="http://portal.test",
            )
        )
    raise ValueError(name)


@pytest.fixture
def stack(nats_url, database_url, new_schema, tmp_path, request):
    @asynccontextmanager
    async def start(*extra: str, with_billing: bool = True, notify_settings: dict | None = None, **gateway_settings):
        async with contextlib.AsyncExitStack() as stack:
            if with_billing:
                await stack.enter_async_context(running(billing(nats_url, database_url, new_schema("bil"))))
            for name in extra:
                service = _other(name, nats_url, database_url, new_schema(name[:3]), tmp_path, request, notify_settings)
                await stack.enter_async_context(running(service))
            gw = await stack.enter_async_context(
                running(gateway(nats_url, database_url, new_schema("gw"), **gateway_settings), serve_http=True)
            )
            http = await stack.enter_async_context(
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{gw.port}", timeout=10)
            )
            nc = await stack.enter_async_context(nats_client(nats_url))
            yield Stack(gw, http, nc)

    return start
