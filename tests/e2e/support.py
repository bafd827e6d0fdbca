"""What the end-to-end tests share: the whole stack behind the gateway, and a customer's steps."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devtools.infra import service_nats_settings
from devtools.stripe_emulator import Emulator
from runtime.service import Service
from tests.support.stack import billing, create_tenant, eventually, gateway, nats_client, payments, running

WEBHOOK_SECRET = "whsec_e2e_gateway"
# What the operator registers the endpoint for (API.md, "Stripe").
STRIPE_EVENTS = [
    "checkout.session.completed",
    "checkout.session.expired",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "charge.refunded",
    "setup_intent.succeeded",
    "payment_method.detached",
]
FAST_AUTOTOPUP = {"autotopup_monitor_s": 0.3, "autotopup_retry_s": "0.4,0.4", "autotopup_cooldown_s": 0}


def documents_available() -> bool:
    return (Path(__file__).resolve().parents[2] / "services" / "documents" / "app.py").exists()


class WebhookReceipts:
    """ASGI middleware on the gateway: when each Stripe webhook arrived, what it was, what it answered."""

    def __init__(self, app, items: list[dict]) -> None:
        self.app = app
        self.items = items

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/webhooks/stripe":
            return await self.app(scope, receive, send)
        item: dict = {"at": time.time(), "body": b"", "status": None}

        async def recording_receive():
            message = await receive()
            item["body"] += message.get("body", b"")
            return message

        async def recording_send(message):
            if message["type"] == "http.response.start":
                item["status"] = message["status"]
            await send(message)

        await self.app(scope, recording_receive, recording_send)
        try:
            event = json.loads(item.pop("body"))
            obj = event["data"]["object"]
            item.update(
                id=event["id"],
                type=event["type"],
                object_id=obj.get("id"),
                topup_id=(obj.get("metadata") or {}).get("topup_id"),
            )
        except (ValueError, KeyError, TypeError):
            item.update(id=None, type=None)
        self.items.append(item)


@dataclass
class Stack:
    http: httpx.AsyncClient
    emulator: Emulator
    gateway: Service
    billing: Service
    payments: Service | None
    nc: object
    receipts: list[dict]  # one per Stripe webhook the gateway received (see WebhookReceipts)
    commits: list[float] = field(default_factory=list)  # billing's commit times (time.time())


@asynccontextmanager
async def open_stack(
    *,
    nats_url: str,
    database_url: str,
    new_schema,
    emulator: Emulator,
    tmp_path: Path,
    billing_overrides: dict | None = None,
    with_payments: bool = True,
    with_documents: bool = False,
    payments_api_base: str | None = None,
    payments_overrides: dict | None = None,
):
    """Billing, payments (unless run elsewhere), gateway (HTTP) and optionally documents, in-process;
    the emulator delivers its signed webhooks to the gateway's real POST /webhooks/stripe."""
    async with AsyncExitStack() as stack:
        bill = billing(nats_url, database_url, new_schema("bil"), **(billing_overrides or {}))
        commits: list[float] = []
        bill.db.after_commit(lambda: commits.append(time.time()))
        await stack.enter_async_context(running(bill))
        pay = None
        if with_payments:
            pay = payments(
                nats_url,
                database_url,
                new_schema("pay"),
                stripe_api_base=payments_api_base or emulator.base_url,
                stripe_webhook_secret=WEBHOOK_SECRET,
                **(payments_overrides or {}),
            )
            await stack.enter_async_context(running(pay))
        if with_documents:
            from services.documents.app import build
            from services.documents.config import DocumentsSettings

            docs = build(
                DocumentsSettings(
                    **service_nats_settings(nats_url, "documents"),
                    database_url=database_url,
                    db_schema=new_schema("doc"),
                    app_env="test",
                    port=0,
                    documents_store=str(tmp_path / "documents"),
                )
            )
            await stack.enter_async_context(running(docs))
        gw = gateway(nats_url, database_url, new_schema("gw"))
        receipts: list[dict] = []
        gw.http_app.add_middleware(WebhookReceipts, items=receipts)
        await stack.enter_async_context(running(gw, serve_http=True))
        await asyncio.to_thread(
            emulator.register_webhook,
            f"http://127.0.0.1:{gw.port}/webhooks/stripe",
            WEBHOOK_SECRET,
            STRIPE_EVENTS,
            "e2e",
        )
        nc = await stack.enter_async_context(nats_client(nats_url))
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=f"http://127.0.0.1:{gw.port}", timeout=30))
        yield Stack(
            http=http,
            emulator=emulator,
            gateway=gw,
            billing=bill,
            payments=pay,
            nc=nc,
            receipts=receipts,
            commits=commits,
        )


# ---- a customer's steps through the gateway ------------------------------------------------------


async def new_customer(s: Stack, **profile) -> tuple[str, dict]:
    return await create_tenant(s.http, **profile)


async def balance(s: Stack, auth: dict) -> int:
    response = await s.http.get("/v1/balance", headers=auth)
    assert response.status_code == 200, response.text
    return response.json()["balance_cents"]


async def wait_balance(s: Stack, auth: dict, expected: int, timeout: float = 15) -> None:
    async def reached():
        return await balance(s, auth) == expected

    try:
        await eventually(reached, timeout=timeout)
    except AssertionError:
        raise AssertionError(f"balance is {await balance(s, auth)}, expected {expected}") from None


async def transactions(s: Stack, auth: dict) -> list[dict]:
    response = await s.http.get("/v1/transactions", params={"limit": 100}, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def start_topup(s: Stack, auth: dict, amount_cents: int, key: str | None = None) -> dict:
    response = await s.http.post(
        "/v1/topups", json={"amount_cents": amount_cents}, headers={**auth, "Idempotency-Key": key or uuid.uuid4().hex}
    )
    assert response.status_code == 201, response.text
    return response.json()


def session_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


async def pay(s: Stack, checkout_url: str, **kwargs) -> dict:
    return await asyncio.to_thread(s.emulator.pay_checkout_session, session_of(checkout_url), **kwargs)


async def wait_topup(s: Stack, auth: dict, topup_id: str, status: str, timeout: float = 15) -> dict:
    async def reached():
        body = (await s.http.get(f"/v1/topups/{topup_id}", headers=auth)).json()
        return body if body.get("status") == status else None

    return await eventually(reached, timeout=timeout)


async def fund(s: Stack, auth: dict, amount_cents: int, expected_balance: int) -> dict:
    """A customer's own Checkout top-up, paid with a fresh card."""
    topup = await start_topup(s, auth, amount_cents)
    await pay(s, topup["checkout_url"], payment_method="pm_card_visa")
    await wait_balance(s, auth, expected_balance)
    return topup


async def save_card(s: Stack, auth: dict, number: str = "4242424242424242") -> dict:
    pm = await asyncio.to_thread(s.emulator.create_card, number)
    response = await s.http.post(
        "/v1/payment-methods", json={"payment_method_id": pm, "make_default": True}, headers=auth
    )
    assert response.status_code == 201, response.text
    assert response.json()["is_default"] is True
    return response.json()


async def enable_autotopup(
    s: Stack, auth: dict, *, threshold: int = 5000, amount: int = 5000, limit: int = 100_000, timeout: float = 10
) -> dict:
    """PUT /v1/auto-topup; billing learns the saved card from an event, so 409 is retried a moment."""
    body = {"enabled": True, "threshold_cents": threshold, "amount_cents": amount, "monthly_limit_cents": limit}
    deadline = time.monotonic() + timeout
    while True:
        response = await s.http.put("/v1/auto-topup", json=body, headers=auth)
        if response.status_code != 409 or time.monotonic() > deadline:
            assert response.status_code == 200, response.text
            return response.json()
        await asyncio.sleep(0.05)


async def autotopup(s: Stack, auth: dict) -> dict:
    response = await s.http.get("/v1/auto-topup", headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


async def customer_id(s: Stack, tenant_id: str) -> str:
    from services.payments import repository

    assert s.payments is not None
    async with s.payments.db.sessions() as session:
        found = await repository.customer_id_of(session, tenant_id)
    assert found, f"no Stripe customer for {tenant_id}"
    return found


async def intents_of(emulator: Emulator, customer: str) -> list[dict]:
    body = await asyncio.to_thread(emulator.get, f"/v1/payment_intents?customer={customer}&limit=100")
    return body["data"]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]
