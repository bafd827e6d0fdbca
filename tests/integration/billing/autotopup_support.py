"""Helpers for the auto top-up tests: a stand-in for the payments service, settings, event capture.

`EmulatedPayments` answers `billing.autotopup.requested.v1` exactly as services/payments does
(TopupPaid / TopupFailed on the PAYMENTS stream, carrying the trigger id). To run a test against
the real payments service + Stripe emulator, swap it for an object with the same interface
(`start`, `stop`, `save_default_card`, `requests`, `trigger_ids`, `max_outstanding`, and `answer`
mapped to emulator cards: PAID → 4242…, declined() → 4000 0000 0000 0002, sca() → 4000 0027 6000 3184).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable

from contracts.base import new_id, utcnow
from contracts.billing.v1 import AutoTopupRequested, GetAutoTopup, GetBalance, UpdateAutoTopup
from contracts.payments.v1 import PaymentMethodChanged, TopupFailed, TopupPaid
from runtime.messaging import request
from services.payments.domain.bonus import bonus_for, parse_tiers

PAID = ("paid", None)
HOLD = ("hold", None)  # never answer (a charge that stays in flight)

DEFAULT_TIERS = parse_tiers("10000:5,25000:10,50000:15")  # what payments decides with API.md's default


def declined(code: str = "card_declined"):
    return ("failed", code)


def sca(url: str = "https://checkout.example/pay/cs_test"):
    return ("sca", url)


class EmulatedPayments:
    def __init__(self, js, answer: Callable[[AutoTopupRequested], tuple] | tuple = PAID, duplicate: bool = False):
        self.js = js
        self.answer = answer
        self.duplicate = duplicate  # publish every outcome twice (distinct Nats-Msg-Ids)
        self.requests: list[tuple[float, AutoTopupRequested]] = []
        self.outstanding: set[str] = set()
        self.max_outstanding = 0
        self._sub = None

    async def start(self) -> EmulatedPayments:
        self._sub = await self.js.subscribe(
            AutoTopupRequested.subject,
            durable=f"fake-pay-{uuid.uuid4().hex[:8]}",
            cb=self._on_request,
            stream="BILLING",
        )
        return self

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()

    def trigger_ids(self) -> list[str]:
        return [r.trigger_id for _, r in self.requests]

    async def _on_request(self, msg) -> None:
        req = AutoTopupRequested.model_validate_json(msg.data)
        await msg.ack()
        if req.trigger_id in {r.trigger_id for _, r in self.requests}:
            return  # payments records the attempt by trigger id: a redelivery charges nothing
        self.requests.append((time.monotonic(), req))
        self.outstanding.add(req.trigger_id)
        self.max_outstanding = max(self.max_outstanding, len(self.outstanding))
        kind, detail = self.answer(req) if callable(self.answer) else self.answer
        if kind != "hold":
            await self.resolve(req, kind, detail)

    async def resolve(self, req: AutoTopupRequested, kind: str, detail: str | None = None) -> None:
        self.outstanding.discard(req.trigger_id)
        topup_id = f"top_{req.trigger_id}"[:40]
        if kind == "paid":
            event = TopupPaid(
                tenant_id=req.tenant_id,
                topup_id=topup_id,
                amount_cents=req.amount_cents,
                bonus_cents=bonus_for(req.amount_cents, DEFAULT_TIERS),
                source="auto",
                trigger_id=req.trigger_id,
                payment_intent_id=new_id("pi_"),
                paid_at=utcnow(),
            )
        else:
            code = "authentication_required" if kind == "sca" else detail or "card_declined"
            event = TopupFailed(
                tenant_id=req.tenant_id,
                topup_id=topup_id,
                amount_cents=req.amount_cents,
                source="auto",
                trigger_id=req.trigger_id,
                reason_code=code,
                reason="Your card was declined." if kind != "sca" else "Authentication required",
                action_url=detail if kind == "sca" else None,
            )
        await publish(self.js, event)
        if self.duplicate:
            await publish(self.js, event, msg_id=new_id("dup_"))

    async def save_default_card(self, tenant_id: str, card: str | None = None) -> str:
        card = card or new_id("pm_")
        await publish(
            self.js,
            PaymentMethodChanged(
                tenant_id=tenant_id, change="default_changed", payment_method_id=card, default_payment_method_id=card
            ),
        )
        return card


async def publish(js, event, *, msg_id: str | None = None) -> None:
    await js.publish(event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": msg_id or event.event_id})


async def credit(js, tenant_id: str, amount_cents: int) -> None:
    """A customer's own (checkout) top-up, to start above the threshold."""
    await publish(
        js,
        TopupPaid(
            tenant_id=tenant_id,
            topup_id=new_id("top_")[:40],
            amount_cents=amount_cents,
            bonus_cents=bonus_for(amount_cents, DEFAULT_TIERS),
            payment_intent_id=new_id("pi_"),
            paid_at=utcnow(),
        ),
    )


async def balance(nc, tenant_id: str) -> int:
    return (await request(nc, GetBalance(tenant_id=tenant_id))).balance_cents


async def view(nc, tenant_id: str):
    return await request(nc, GetAutoTopup(tenant_id=tenant_id))


async def configure(nc, tenant_id: str, *, enabled=True, threshold=5000, amount=5000, limit=100_000):
    return await request(
        nc,
        UpdateAutoTopup(
            tenant_id=tenant_id,
            enabled=enabled,
            threshold_cents=threshold,
            amount_cents=amount,
            monthly_limit_cents=limit,
        ),
    )


async def enable_when_card_known(nc, tenant_id: str, **kw):
    """PaymentMethodChanged is consumed asynchronously: retry the enabling PUT until billing knows the card."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return await configure(nc, tenant_id, **kw)
        except Exception as exc:  # ServiceError("conflict") until the card event is consumed
            if getattr(exc, "code", None) != "conflict" or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


class PortalCapture:
    """Every `portal.autotopup.*` event of one tenant, in arrival order."""

    def __init__(self) -> None:
        self.events: list[dict] = []

    async def start(self, nc, tenant_id: str) -> PortalCapture:
        async def on(msg) -> None:
            body = json.loads(msg.data)
            if body.get("tenant_id") == tenant_id and body["id"] not in {e["id"] for e in self.events}:
                self.events.append(body)

        await nc.subscribe("portal.autotopup.*.v1", cb=on)
        return self

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["type"] == f"autotopup.{kind}"]
