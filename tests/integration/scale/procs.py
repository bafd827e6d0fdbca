"""Services as real processes (`python -m services.<name>`), so a test can SIGKILL or SIGTERM one
replica and read each replica's own Prometheus counters from its `/metrics`."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devtools.infra import ROOT, free_port, service_nats_env


@dataclass
class ServiceProcess:
    service: str
    env: dict[str, str]
    log_dir: Path
    name: str = ""
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.name = self.name or f"{self.service}-{self.port}"

    @property
    def log(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServiceProcess:
        env = {
            **os.environ,
            **self.env,
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "APP_ENV": "test",
            "PYTHONPATH": str(ROOT),
        }
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.service}", "run"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    async def ready(self, timeout: float = 60.0) -> ServiceProcess:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as http:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.name} not ready:\n{self.tail()}")
                await asyncio.sleep(0.1)

    async def counter(self, metric: str, **labels: str) -> float:
        """One sample of this process's counter (0 when the series does not exist yet)."""
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5) as http:
            text = (await http.get("/metrics")).text
        return parse_sample(text, metric, labels)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    async def exited(self, timeout: float) -> int:
        """The exit code, waiting at most `timeout` seconds (TimeoutError otherwise)."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} still running after {timeout}s")
            await asyncio.sleep(0.05)
        return self.proc.returncode

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def parse_sample(text: str, metric: str, labels: dict[str, str]) -> float:
    total = 0.0
    pattern = re.compile(rf"^{re.escape(metric)}(?:\{{(.*?)\}})?\s+(\S+)$")
    for line in text.splitlines():
        match = pattern.match(line)
        if not match:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total


def billing_env(nats_url: str, database_url: str, schema: str, **extra: str) -> dict[str, str]:
    return {**service_nats_env(nats_url, "billing"), "BILLING_DATABASE_URL": database_url, "DB_SCHEMA": schema, **extra}
