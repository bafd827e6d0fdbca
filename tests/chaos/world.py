"""Everything as real processes that a test may stop, kill and restart: a private PostgreSQL cluster,
a private NATS (with the generated users), the Stripe emulator (with fault injection) and the
services billing, payments, documents and gateway, each its own `python -m services.<name>`."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devtools.infra import ROOT, NatsProcess, free_port
from devtools.postgres import PrivatePostgres
from devtools.stripe_emulator import Emulator
from devtools.stripe_emulator.launcher import READY
from tests.integration.scale.procs import ServiceProcess

ADMIN_TOKEN = "chaos-admin-token"
WEBHOOK_SECRET = "whsec_chaos"
AUTOTOPUP_INFLIGHT_TIMEOUT_S = 20
# Short periods, so that a few minutes show what hours would: the monitor, the in-flight deadline,
# the reconciler and the webhook backoff cap.
SERVICE_ENV = {
    "billing": {
        "AUTOTOPUP_MONITOR_S": "2",
        "AUTOTOPUP_INFLIGHT_TIMEOUT_S": str(AUTOTOPUP_INFLIGHT_TIMEOUT_S),
        "AUTOTOPUP_COOLDOWN_S": "5",
        "AUTOTOPUP_RETRY_S": "5,5",
    },
    "payments": {
        "RECONCILE_INTERVAL_S": "20",
        "RECONCILE_FIRST_RUN_S": "5",
        "RECONCILE_GRACE_S": "10",
        "WEBHOOK_RETRY_MAX_S": "5",
        "WEBHOOK_POLL_S": "0.2",
        "PORTAL_BASE_URL": "http://portal.chaos",
    },
    "documents": {},
    "gateway": {"RATE_LIMIT_PER_MINUTE": "1000000", "GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN},
}


@dataclass
class World:
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="chaos-")))
    pg: PrivatePostgres | None = None
    nats: NatsProcess | None = None
    emulator: Emulator | None = None
    emulator_proc: subprocess.Popen | None = None
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    def start(self) -> World:
        self.root.chmod(0o755)  # PostgreSQL runs as another user when we are root
        (self.root / "logs").mkdir()
        self.pg = PrivatePostgres(self.root / "pg", self.root / "pg-password", database="chaos")
        self.pg.ensure()
        self.nats = NatsProcess().start()
        gateway_port = free_port()
        self._start_emulator(webhook=f"http://127.0.0.1:{gateway_port}/webhooks/stripe")
        for name in ("billing", "payments", "documents", "gateway"):
            port = gateway_port if name == "gateway" else free_port()
            self.services[name] = ServiceProcess(name, self._env(name), self.root / "logs", port=port).start()
        return self

    async def ready(self, timeout: float = 90) -> None:
        await asyncio.gather(*(service.ready(timeout) for service in self.services.values()))

    def _env(self, name: str) -> dict[str, str]:
        env = {**self.nats.service_env(name), "DATABASE_URL": self.pg.url(), "LOG_JSON": "true", **SERVICE_ENV[name]}
        if name == "payments":
            env.update(
                STRIPE_API_KEY=self.emulator.api_key,
                STRIPE_API_BASE=self.emulator.base_url,
                STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            )
        if name == "documents":
            env["DOCUMENTS_STORE"] = str(self.root / "documents")
        return env

    def _start_emulator(self, *, webhook: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        log = open(self.root / "logs" / "stripe.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.emulator_proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devtools.stripe_emulator",
                "--port",
                "0",
                "--webhook",
                webhook,
                "--webhook-secret",
                WEBHOOK_SECRET,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        line = self.emulator_proc.stdout.readline().strip()
        if not line.startswith(READY):
            raise RuntimeError(f"stripe emulator did not start: {line!r}")
        self.emulator = Emulator(base_url=line.split(" ", 1)[1])

    # -- faults -------------------------------------------------------------------------------------

    def kill(self, name: str) -> None:
        """SIGKILL (no drain, no goodbye), then the same process again, as an orchestrator would."""
        service = self.services[name]
        service.kill()
        self.services[name] = ServiceProcess(
            name, service.env, service.log_dir, name=service.name, port=service.port
        ).start()

    # -- clients -------------------------------------------------------------------------------------

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.services["gateway"].base_url, timeout=30)

    def psql(self, schema: str):
        """A synchronous connection with `schema` first on the search path (each service's own)."""
        import psycopg

        conn = psycopg.connect(self.pg.url(), autocommit=True)
        conn.execute(f'SET search_path TO "{schema}"')
        return conn

    async def all_ready(self) -> bool:
        async with httpx.AsyncClient(timeout=2) as http:
            for service in self.services.values():
                try:
                    if (await http.get(f"{service.base_url}/readyz")).status_code != 200:
                        return False
                except httpx.HTTPError:
                    return False
        return True

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()
        if self.emulator_proc is not None:
            self.emulator_proc.terminate()
            try:
                self.emulator_proc.wait(10)
            except subprocess.TimeoutExpired:
                self.emulator_proc.kill()
        if self.nats is not None:
            self.nats.cleanup()
        if self.pg is not None:
            self.pg.destroy()
        keep = os.environ.get("CHAOS_KEEP_LOGS")
        if keep:
            shutil.copytree(self.root / "logs", keep, dirs_exist_ok=True)
        shutil.rmtree(self.root, ignore_errors=True)


def since(start: float) -> float:
    return round(time.monotonic() - start, 1)
