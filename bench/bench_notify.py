"""Notification latency: a customer-visible event on NATS → webhook receipt and → SMTP acceptance.

    .venv/bin/python bench/bench_notify.py [--rate 50] [--seconds 20]

Runs notify as its own process (`python -m services.notify`) on a private nats-server and
PostgreSQL, with a local SMTP sink and two webhook endpoints of one tenant: a fast one and a slow
one (5 s per answer) that must not hold up the others. `autotopup.failed` events (email by default,
both endpoints subscribed) are published at `--rate` per second; each carries its sequence number in
`reason`, so the email and the webhook can be matched to their publish time.
"""

from __future__ import annotations

# ruff: noqa: E402  (imports after the sys.path line, like bench_render.py)
import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contracts.billing.v1 import AccountProfile, AccountUpdated
from contracts.notify.v1 import CreateWebhookEndpoint, GetPreferences
from contracts.portal.v1 import PortalEvent
from devtools.infra import NatsProcess, postgres_url, service_nats_env
from devtools.smtp_sink import SmtpSink
from runtime.messaging import RequestFailed, request
from services.notify.channels.webhook import generate_secret
from tests.support.stack import nats_client
from tests.support.webhook_receiver import WebhookReceiver

TARGET_P99_MS = 250
SLOW_ANSWER_S = 5.0


class TimedSink(SmtpSink):
    """Notes when each mail is accepted, keyed by the sequence number in its text."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted: dict[int, float] = {}

    async def handle_DATA(self, server, session, envelope) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        text = envelope.original_content.decode(errors="replace")
        marker = text.split("bench-", 1)[1][:12] if "bench-" in text else ""
        digits = "".join(ch for ch in marker if ch.isdigit()) if marker else ""
        if digits:
            self.accepted.setdefault(int(digits), time.perf_counter())
        return answer


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def start_notify(nats_url: str, database_url: str, smtp: SmtpSink, var_dir: str) -> subprocess.Popen:
    env = {
        **os.environ,
        **service_nats_env(nats_url, "notify"),
        "NOTIFY_DATABASE_URL": database_url,
        "APP_ENV": "test",
        "DB_SCHEMA": f"bench_notify_{uuid.uuid4().hex[:8]}",
        "PORT": "0",
        "VAR_DIR": var_dir,
        "SMTP_HOST": smtp.host,
        "SMTP_PORT": str(smtp.port),
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "services.notify", "run"], cwd=ROOT, env=env)


async def wait_ready(nc, tenant_id: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            await request(nc, GetPreferences(tenant_id=tenant_id), timeout=1)
            return
        except RequestFailed:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def publish(js, tenant_id: str, seq: int) -> None:
    event = PortalEvent(type="autotopup.failed", tenant_id=tenant_id, data={"reason": f"bench-{seq}"})
    await js.publish(event.subject_for(), event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id})


async def run(rate: float, seconds: float, nats_url: str, database_url: str) -> None:
    tenant_id = f"ten_bench_{uuid.uuid4().hex[:8]}"
    with TimedSink() as smtp, tempfile.TemporaryDirectory() as var_dir:
        notify = start_notify(nats_url, database_url, smtp, var_dir)
        async with (
            nats_client(nats_url) as nc,
            WebhookReceiver(generate_secret()) as fast,
            WebhookReceiver(generate_secret()) as slow,
        ):
            try:
                await wait_ready(nc, tenant_id)
                for receiver in (fast, slow):
                    item = (
                        await request(
                            nc,
                            CreateWebhookEndpoint(
                                tenant_id=tenant_id, url=receiver.url_for(), events=["autotopup.failed"]
                            ),
                        )
                    ).item
                    receiver.verifier = type(receiver.verifier)(item.secret)
                slow.respond(200, delay_s=SLOW_ANSWER_S)
                js = nc.jetstream()
                profile = AccountProfile(tenant_id=tenant_id, name="Bench GmbH", email="bench@example.com")
                account = AccountUpdated(tenant_id=tenant_id, profile=profile)
                await js.publish(account.subject, account.model_dump_json().encode())
                await publish(js, tenant_id, 0)  # warm-up: profile known, connections open
                while 0 not in smtp.accepted:
                    await asyncio.sleep(0.05)
                await measure(js, tenant_id, smtp, fast, slow, rate=rate, seconds=seconds)
            finally:
                await stop(notify)


async def stop(notify: subprocess.Popen) -> None:
    """SIGTERM (a graceful drain), while the receivers still answer; kill if it takes too long."""
    notify.terminate()
    try:
        await asyncio.to_thread(notify.wait, 30)
    except subprocess.TimeoutExpired:
        notify.kill()
        await asyncio.to_thread(notify.wait, 10)


async def measure(js, tenant_id, smtp: TimedSink, fast, slow, *, rate: float, seconds: float) -> None:
    count = int(rate * seconds)
    published: dict[int, float] = {}
    started = time.perf_counter()
    for seq in range(1, count + 1):
        await asyncio.sleep(max(0.0, started + (seq - 1) / rate - time.perf_counter()))
        published[seq] = time.perf_counter()
        await publish(js, tenant_id, seq)
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline and (len(fast.received) < count + 1 or len(smtp.accepted) < count + 1):
        await asyncio.sleep(0.1)
    hooks = {
        int(json.loads(h.body)["data"]["reason"].removeprefix("bench-")): h.received_at for h in reversed(fast.received)
    }  # the first receipt counts
    webhook_ms = [(hooks[s] - published[s]) * 1000 for s in published if s in hooks]
    smtp_ms = [(smtp.accepted[s] - published[s]) * 1000 for s in published if s in smtp.accepted]
    print(f"notify latency, {count} events at {rate:g}/s, one slow endpoint ({SLOW_ANSWER_S:g} s answers) present")
    report("event → webhook receipt (fast endpoint)", webhook_ms, count)
    report("event → SMTP acceptance", smtp_ms, count)
    print(
        f"  slow endpoint: {len(slow.received)} received meanwhile (bounded in flight per endpoint); "
        f"{len(hooks)} distinct at the fast one"
    )


def report(label: str, values: list[float], expected: int) -> None:
    if not values:
        print(f"  {label}: nothing arrived: MISSED")
        return
    p99 = percentile(values, 0.99)
    verdict = "OK" if p99 < TARGET_P99_MS and len(values) == expected else "MISSED"
    print(
        f"  {label}: {len(values)}/{expected}  p50 {percentile(values, 0.5):6.1f} ms  "
        f"p99 {p99:6.1f} ms  max {max(values):6.1f} ms   target p99 < {TARGET_P99_MS} ms: {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    options = parser.parse_args()
    database_url = postgres_url()
    if database_url is None:
        raise SystemExit("bench_notify needs PostgreSQL (DATABASE_URL or a local server)")
    nats = None if os.environ.get("NATS_URL") else NatsProcess().start()
    try:
        asyncio.run(run(options.rate, options.seconds, os.environ.get("NATS_URL") or nats.url, database_url))
    finally:
        if nats:
            nats.cleanup()


if __name__ == "__main__":
    main()
