"""For the crash test: payments as a real process, and a proxy in front of the Stripe emulator
that can swallow the answer to a charge (Stripe charged; payments never hears it)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
from aiohttp import web

from contracts.payments.v1 import ListPaymentMethods
from devtools.http_peer import HttpPeer
from devtools.infra import service_nats_env
from runtime.messaging import RequestFailed, request

ROOT = Path(__file__).resolve().parents[2]
FORWARDED = ("Authorization", "Content-Type", "Idempotency-Key", "Stripe-Version", "Stripe-Account")


class HoldingProxy(HttpPeer):
    """Forwards everything to Stripe; while `hold_charges`, a created PaymentIntent's answer never returns."""

    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.upstream = upstream.rstrip("/")
        self.hold_charges = False
        self.charged = asyncio.Event()
        self.charge_requests = 0
        self._client: aiohttp.ClientSession | None = None

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/{tail:.*}", self._forward)]

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()
        await super().stop()

    async def _forward(self, req: web.Request) -> web.StreamResponse:
        self._client = self._client or aiohttp.ClientSession()
        if req.method == "POST" and req.path == "/v1/payment_intents":
            self.charge_requests += 1
        headers = {k: v for k, v in req.headers.items() if k in FORWARDED}
        async with self._client.request(
            req.method, self.upstream + req.path_qs, headers=headers, data=await req.read()
        ) as answer:
            body, status, content_type = await answer.read(), answer.status, answer.content_type
        if self.hold_charges and req.method == "POST" and req.path == "/v1/payment_intents" and status < 300:
            self.charged.set()
            await asyncio.Event().wait()  # until the caller's connection is gone
        return web.Response(body=body, status=status, content_type=content_type)


class PaymentsProcess:
    """`python -m services.payments run`, as production starts it."""

    def __init__(
        self, *, nats_url: str, database_url: str, schema: str, stripe_api_base: str, secret: str, log_path: Path
    ) -> None:
        self.env = {
            **os.environ,
            **service_nats_env(nats_url, "payments"),
            "PAYMENTS_DATABASE_URL": database_url,
            "DB_SCHEMA": schema,
            "APP_ENV": "test",
            "PORT": "0",
            "STRIPE_API_KEY": "sk_test_emulator",
            "STRIPE_API_BASE": stripe_api_base,
            "STRIPE_WEBHOOK_SECRET": secret,
            "WEBHOOK_POLL_S": "0.2",
            "PYTHONPATH": str(ROOT),
        }
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    async def start(self, nc, *, timeout: float = 30) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.payments", "run"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = asyncio.get_running_loop().time() + timeout
        while True:  # ready when it answers its RPCs
            try:
                await request(nc, ListPaymentMethods(tenant_id="ten_probe"), timeout=1)
                return
            except RequestFailed:
                if self.process.poll() is not None or asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError(f"payments did not start; see {self.log_path}") from None
                await asyncio.sleep(0.2)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
