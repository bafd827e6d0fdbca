"""Small steps the payments tests share: ask payments, pay at the emulator, read the stream."""

from __future__ import annotations

import asyncio
import uuid

import nats.errors
from nats.js.api import DeliverPolicy
from pydantic import BaseModel

from contracts.payments.v1 import CreateTopup, GetTopup, TopupView
from devtools.stripe_emulator import Emulator
from runtime.messaging import request
from services.payments import repository
from tests.support.stack import eventually


async def create_topup(nc, tenant_id: str, amount_cents: int = 10000, key: str | None = None):
    return await request(
        nc,
        CreateTopup(tenant_id=tenant_id, amount_cents=amount_cents, idempotency_key=key or uuid.uuid4().hex),
        timeout=15,
    )


async def topup(nc, tenant_id: str, topup_id: str) -> TopupView:
    return (await request(nc, GetTopup(tenant_id=tenant_id, topup_id=topup_id))).topup


async def wait_status(nc, tenant_id: str, topup_id: str, status: str, timeout: float = 10) -> TopupView:
    async def reached():
        view = await topup(nc, tenant_id, topup_id)
        return view if view.status == status else None

    return await eventually(reached, timeout=timeout)


def session_id(view: TopupView) -> str:
    assert view.checkout_url
    return view.checkout_url.rstrip("/").rsplit("/", 1)[-1]


async def pay(emulator: Emulator, view: TopupView, **kwargs) -> dict:
    return await asyncio.to_thread(emulator.pay_checkout_session, session_id(view), **kwargs)


async def published(js, subject: str, model: type[BaseModel], **where) -> list:
    """Every message kept in JetStream on `subject` whose fields equal `where`."""
    sub = await js.subscribe(subject, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
    found = []
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=0.5)
            except nats.errors.TimeoutError:
                break
            item = model.model_validate_json(msg.data)
            if all(getattr(item, k) == v for k, v in where.items()):
                found.append(item)
    finally:
        await sub.unsubscribe()
    return found


async def customer_of(service, tenant_id: str) -> str | None:
    async with service.db.sessions() as session:
        return await repository.customer_id_of(session, tenant_id)


async def intents_of(emulator: Emulator, customer_id: str) -> list[dict]:
    body = await asyncio.to_thread(emulator.get, f"/v1/payment_intents?customer={customer_id}&limit=100")
    return body["data"]


async def sessions_of(emulator: Emulator, customer_id: str) -> list[dict]:
    body = await asyncio.to_thread(emulator.get, f"/v1/checkout/sessions?customer={customer_id}&limit=100")
    return body["data"]
