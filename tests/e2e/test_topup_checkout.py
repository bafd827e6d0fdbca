"""A customer tops up through the gateway, pays at (emulated) Stripe, and the signed webhook that
reaches the gateway's POST /webhooks/stripe credits the balance exactly once."""

import asyncio
import json
import uuid

import pytest

from tests.support.stack import SseReader, create_tenant, eventually

from .support import (
    balance,
    customer_id,
    documents_available,
    open_stack,
    pay,
    start_topup,
    transactions,
    wait_topup,
)


@pytest.fixture
async def stack(nats_url, database_url, new_schema, e2e_stripe, tmp_path):
    async with open_stack(
        nats_url=nats_url,
        database_url=database_url,
        new_schema=new_schema,
        emulator=e2e_stripe,
        tmp_path=tmp_path,
        with_documents=documents_available(),
    ) as s:
        yield s


async def test_topup_paid_at_checkout_credits_amount_and_bonus_once(stack):
    http = stack.http
    _tenant_id, auth = await _tenant(stack)
    async with http.stream("GET", "/v1/stream", headers=auth) as stream:
        sse = SseReader(stream)
        assert (await sse.next())["event"] == "balance.updated"

        key = uuid.uuid4().hex
        created = await start_topup(stack, auth, 25_000, key=key)
        assert (created["status"], created["amount_cents"], created["bonus_cents"]) == ("pending", 25_000, 2_500)
        assert created["checkout_url"]
        again = await http.post("/v1/topups", json={"amount_cents": 25_000}, headers={**auth, "Idempotency-Key": key})
        assert again.status_code == 200 and again.json()["id"] == created["id"]
        other = await http.post("/v1/topups", json={"amount_cents": 30_000}, headers={**auth, "Idempotency-Key": key})
        assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"

        await pay(stack, created["checkout_url"], payment_method="pm_card_visa")

        seen = await _events_until(sse, lambda e, d: e == "topup.succeeded" or d.get("balance_cents") == 27_500)
        succeeded = seen["topup.succeeded"]
        assert (succeeded["amount_cents"], succeeded["bonus_cents"]) == (25_000, 2_500)
        assert seen["balance.updated"]["balance_cents"] == 27_500

    assert (await wait_topup(stack, auth, created["id"], "succeeded"))["amount_cents"] == 25_000
    assert await balance(stack, auth) == 27_500
    entries = [(t["kind"], t["amount_cents"]) for t in await transactions(stack, auth)]
    assert sorted(entries) == [("bonus", 2_500), ("topup", 25_000)]
    assert any(r["type"] == "checkout.session.completed" and r["status"] == 200 for r in stack.receipts)

    await _redeliver_every_webhook_of(stack, created["id"])
    await asyncio.sleep(1.0)  # give a wrong second credit time to show
    assert await balance(stack, auth) == 27_500
    assert len(await transactions(stack, auth)) == 2
    if documents_available():
        await _invoice_listed(stack, auth, 25_000)


async def test_stripe_customer_carries_the_tenants_billing_profile(stack):
    """Payments keeps the profile billing announces (AccountUpdated) for the tenant's Stripe customer."""
    tenant_id, auth = await _tenant(stack, name="Profil AG", email="konto@profil.example")
    await start_topup(stack, auth, 1_000)
    customer = await _stripe_customer(stack, tenant_id)
    assert (customer["email"], customer["name"]) == ("konto@profil.example", "Profil AG")

    response = await stack.http.patch("/v1/account", json={"email": "neu@profil.example"}, headers=auth)
    assert response.status_code == 200, response.text

    async def updated():
        return (await _stripe_customer(stack, tenant_id))["email"] == "neu@profil.example"

    await eventually(updated, timeout=10)


async def _events_until(sse, wanted, *, timeout: float = 15) -> dict:
    """Read the stream until both a matching topup.succeeded and balance.updated arrived (any order)."""
    seen: dict = {}
    deadline = asyncio.get_running_loop().time() + timeout
    while not {"topup.succeeded", "balance.updated"} <= set(seen):
        message = await sse.next(timeout=max(deadline - asyncio.get_running_loop().time(), 0.01))
        data = json.loads(message.get("data") or "{}")
        if message.get("event") in ("topup.succeeded", "balance.updated") and wanted(message["event"], data):
            seen[message["event"]] = data
    return seen


async def _tenant(stack, **profile):
    return await create_tenant(stack.http, **profile)


async def _stripe_customer(stack, tenant_id: str) -> dict:
    cid = await customer_id(stack, tenant_id)
    return await asyncio.to_thread(stack.emulator.get, f"/v1/customers/{cid}")


async def _redeliver_every_webhook_of(stack, topup_id: str) -> None:
    """Stripe delivers at least once: send every event of this payment again, and wait for them."""
    ours = [r for r in stack.receipts if r.get("topup_id") == topup_id]
    assert {r["type"] for r in ours} >= {"payment_intent.succeeded", "checkout.session.completed"}
    before = len(stack.receipts)
    for receipt in ours:
        await asyncio.to_thread(stack.emulator.resend_event, receipt["id"])
    await eventually(lambda: len(stack.receipts) >= before + len(ours), timeout=10)
    assert all(r["status"] == 200 for r in stack.receipts[before:])


async def _invoice_listed(stack, auth, gross_cents: int) -> None:
    async def listed():
        response = await stack.http.get("/v1/documents", params={"kind": "invoice"}, headers=auth)
        items = response.json().get("items", []) if response.status_code == 200 else []
        return items if items else None

    items = await eventually(listed, timeout=20)
    assert [i["total_cents"] for i in items] == [gross_cents]
