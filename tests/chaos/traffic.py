"""Mixed traffic while the faults happen: usage records on NATS (as the platform), Checkout top-ups
through the gateway paid at the emulator, auto top-ups that the usage triggers, partial refunds made
at Stripe, and a few deliberately poisoned messages. Whatever fails because of a fault is tried again
or given up as a customer would; what counts is what was *accepted*: usage JetStream acknowledged,
payments Stripe has, refunds Stripe made."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import uuid
from dataclasses import dataclass, field

import httpx
import nats

from services.payments.stripe.client import StripeAdapter
from tests.chaos.world import ADMIN_TOKEN, World

POISON = b'{"id": "poison-%d", "tenant_id": 42}'  # no amount, a number for a tenant: can never parse


@dataclass
class Tenant:
    id: str
    auth: dict[str, str]
    auto: bool = False


@dataclass
class Traffic:
    world: World
    tenants: list[Tenant] = field(default_factory=list)
    usage_ids: set[str] = field(default_factory=set)  # acknowledged by JetStream
    poisoned: int = 0
    checkouts: int = 0
    refunds: int = 0
    attempts_failed: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(20261204))
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def ops(self) -> int:
        return len(self.usage_ids) + self.checkouts + self.refunds

    async def setup(self, http: httpx.AsyncClient, *, tenants: int = 6, auto: int = 3) -> None:
        """Tenants through the admin API; the first `auto` with a saved card and auto top-up on."""
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        for i in range(tenants):
            body = {
                "name": f"Chaos {i} GmbH",
                "email": f"billing{i}@chaos.example",
                "country": "DE",
                "address": {"line1": "Hauptstraße 1", "postal_code": "10115", "city": "Berlin"},
            }
            response = await http.post("/admin/v1/tenants", json=body, headers=admin)
            response.raise_for_status()
            created = response.json()
            self.tenants.append(Tenant(created["id"], {"Authorization": f"Bearer {created['api_key']}"}, i < auto))
        for tenant in self.tenants:
            await self._checkout(http, tenant, 20_000, must=True)
            if tenant.auto:
                await self._enable_auto_topup(http, tenant)

    async def _enable_auto_topup(self, http: httpx.AsyncClient, tenant: Tenant) -> None:
        card = await asyncio.to_thread(self.world.emulator.create_card, "4242424242424242")
        response = await http.post(
            "/v1/payment-methods", json={"payment_method_id": card, "make_default": True}, headers=tenant.auth
        )
        response.raise_for_status()
        body = {"enabled": True, "threshold_cents": 15_000, "amount_cents": 5_000, "monthly_limit_cents": 10_000_000}
        for _ in range(100):  # billing learns the card from an event
            response = await http.put("/v1/auto-topup", json=body, headers=tenant.auth)
            if response.status_code != 409:
                response.raise_for_status()
                return
            await asyncio.sleep(0.1)
        raise AssertionError("auto top-up could not be enabled")

    async def run(self) -> None:
        async with self.world.http() as http:
            await asyncio.gather(self._usage(), self._checkouts(http), self._refunds())

    def stop(self) -> None:
        self._stop.set()

    async def _usage(self, per_second: float = 12) -> None:
        nc = await nats.connect(self.world.nats.url_as("platform"), max_reconnect_attempts=-1, reconnect_time_wait=0.5)
        js = nc.jetstream()
        try:
            while not self._stop.is_set():
                tenant = self.rng.choice(self.tenants)
                record = {
                    "id": f"u-{uuid.uuid4().hex}",
                    "tenant_id": tenant.id,
                    "amount_cents": self.rng.randint(20, 400),
                    "quantity": 1,
                    "unit": "minute",
                    "description": "chaos call",
                    "occurred_at": "2026-12-04T12:00:00Z",
                }
                await self._publish_until_acked(js, record)
                if self.rng.random() < 0.004 and self.poisoned < 3:
                    self.poisoned += 1
                    await self._publish_until_acked(
                        js, None, raw=POISON % self.poisoned, msg_id=f"poison-{self.poisoned}"
                    )
                await asyncio.sleep(1 / per_second)
        finally:
            await nc.close()

    async def _publish_until_acked(
        self, js, record: dict | None, *, raw: bytes | None = None, msg_id: str | None = None
    ) -> None:
        """A producer retries with the same id until JetStream acknowledges (NATS may be restarting)."""
        body, msg_id = (raw, msg_id) if record is None else (json.dumps(record).encode(), record["id"])
        while True:
            try:
                await js.publish("usage.recorded.v1", body, headers={"Nats-Msg-Id": msg_id}, timeout=2)
                if record is not None:
                    self.usage_ids.add(record["id"])
                return
            except Exception:
                self.attempts_failed += 1
                await asyncio.sleep(0.5)

    async def _checkouts(self, http: httpx.AsyncClient) -> None:
        while not self._stop.is_set():
            await asyncio.sleep(2.5)
            tenant = self.rng.choice(self.tenants)
            await self._checkout(http, tenant, self.rng.choice([2_000, 5_000, 10_000, 25_000]))

    async def _checkout(self, http: httpx.AsyncClient, tenant: Tenant, amount: int, *, must: bool = False) -> None:
        """Start a Checkout top-up and pay it as the customer would; a failure during a fault is given up
        (the customer tries later) unless `must`."""
        for _ in range(100 if must else 1):
            try:
                response = await http.post(
                    "/v1/topups",
                    json={"amount_cents": amount},
                    headers={**tenant.auth, "Idempotency-Key": uuid.uuid4().hex},
                )
                if response.status_code == 201:
                    session = response.json()["checkout_url"].rstrip("/").rsplit("/", 1)[-1]
                    await asyncio.to_thread(
                        self.world.emulator.pay_checkout_session, session, payment_method="pm_card_visa"
                    )
                    self.checkouts += 1
                    return
            except Exception:  # the gateway or Stripe away: a customer tries again later
                pass
            self.attempts_failed += 1
            await asyncio.sleep(1)
        if must:
            raise AssertionError(f"could not fund {tenant.id}")

    async def _refunds(self) -> None:
        stripe = StripeAdapter(
            api_key=self.world.emulator.api_key, api_base=self.world.emulator.base_url, max_network_retries=0
        )
        try:
            while not self._stop.is_set():
                await asyncio.sleep(4)
                with contextlib.suppress(Exception):  # Stripe answering 500: try again next time
                    await self._refund_something(stripe)
        finally:
            await stripe.aclose()

    async def _refund_something(self, stripe: StripeAdapter) -> None:
        from datetime import UTC, datetime, timedelta

        intents = [
            i
            for i in await stripe.list_payment_intents(created_since=datetime.now(UTC) - timedelta(hours=1))
            if i.get("status") == "succeeded" and (i.get("metadata") or {}).get("topup_id")
        ]
        if not intents:
            return
        intent = self.rng.choice(intents)
        charge = await stripe.retrieve_charge(intent["latest_charge"])
        left = int(charge["amount"]) - int(charge.get("amount_refunded") or 0)
        if left <= 0:
            return
        amount = min(left, self.rng.choice([500, 1_000, 3_000, left]))
        await stripe.refund(payment_intent_id=intent["id"], idempotency_key=uuid.uuid4().hex, amount_cents=amount)
        self.refunds += 1
