"""The demo tenant's first look, made through the product's own paths (never in production).

`seed` — once, on the first `make run`: a Checkout top-up of 250 € paid at the local Stripe stand-in
(webhook → payments → billing credits it with its bonus → documents issues the invoice), thirty days
of usage records published on NATS with `occurred_at` spread over the last month (the dashboard's
chart), and last month's and this month's statements.

`make demo-usage` (`python -m scripts.demo usage`) — keeps usage flowing: one call record every few seconds on NATS, so
the portal's live balance visibly moves. Reads the stack's address from `var/stack.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import time
import urllib.request
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import nats

ROOT = Path(__file__).resolve().parents[1]
STACK = ROOT / "var" / "stack.json"
CENTS_PER_MINUTE = 9


def _call(
    base: str, method: str, path: str, *, token: str, body: dict | None = None, headers: dict | None = None
) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(  # noqa: S310
        f"{base}{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310
        return json.loads(response.read() or b"{}")


def _wait(check, *, timeout: float = 30.0, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise TimeoutError(f"demo seed: {what} did not happen within {timeout:.0f} s")


def paid_topup(base: str, api_key: str, stripe_base: str, *, amount_cents: int = 25_000) -> str:
    """A Checkout top-up paid the way a customer pays it; answers the top-up id once it is credited."""
    topup = _call(
        base,
        "POST",
        "/v1/topups",
        token=api_key,
        body={"amount_cents": amount_cents},
        headers={"Idempotency-Key": "demo-first-topup"},
    )
    session_id = topup["checkout_url"].rstrip("/").rsplit("/", 1)[-1]
    pay = urllib.request.Request(  # noqa: S310
        f"{stripe_base}/_test/checkout/sessions/{session_id}/pay",
        data=json.dumps({"payment_method": "pm_card_visa"}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(pay, timeout=30).close()  # noqa: S310
    _wait(
        lambda: _call(base, "GET", f"/v1/topups/{topup['id']}", token=api_key).get("invoice_id"),
        what="the top-up's credit and invoice",
        timeout=60,
    )
    return topup["id"]


def usage_records(tenant_id: str, *, days: int = 30, now: datetime | None = None, seed: int = 7) -> list[dict]:
    """Calls of a small business over `days` days: weekdays busier than weekends, office hours."""
    rng, now = random.Random(seed), now or datetime.now(UTC)
    records = []
    for back in range(days - 1, -1, -1):  # today and the 29 days before it: the dashboard's window
        day = (now - timedelta(days=back)).date()
        for _ in range(rng.randint(2, 5) if day.weekday() >= 5 else rng.randint(6, 14)):
            at = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(
                hours=rng.randint(7, 16), minutes=rng.randint(0, 59), seconds=rng.randint(0, 59)
            )
            if at < now - timedelta(minutes=1):
                records.append(_record(tenant_id, rng.randint(1, 9), at, rng))
    return records


def _record(tenant_id: str, minutes: int, at: datetime, rng: random.Random) -> dict:
    caller = f"+49 30 {rng.randint(1000000, 9999999)}"
    return {
        "id": f"demo-{uuid.uuid4().hex}",
        "tenant_id": tenant_id,
        "amount_cents": minutes * CENTS_PER_MINUTE,
        "quantity": minutes,
        "unit": "minute",
        "description": f"Anruf {caller}",
        "occurred_at": at.isoformat().replace("+00:00", "Z"),
    }


async def publish(nats_url: str, records: list[dict], *, connect: dict | None = None) -> None:
    nc = await nats.connect(nats_url, **(connect or {}))
    try:
        js = nc.jetstream()
        for record in records:
            await js.publish("usage.recorded.v1", json.dumps(record).encode(), headers={"Nats-Msg-Id": record["id"]})
    finally:
        await nc.drain()


def months_to_state(today: date) -> list[str]:
    first = today.replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    return [previous.strftime("%Y-%m"), first.strftime("%Y-%m")]


def seed(
    *, base: str, api_key: str, tenant_id: str, nats_url: str, stripe_base: str | None, nats_connect: dict | None = None
) -> list[str]:
    """Everything the first look needs; answers what it did, one line each."""
    done = []
    if stripe_base:
        done.append(f"a paid 250 € Checkout top-up with its invoice ({paid_topup(base, api_key, stripe_base)})")
    records = usage_records(tenant_id)
    asyncio.run(publish(nats_url, records, connect=nats_connect))
    total = sum(r["amount_cents"] for r in records)
    _wait(
        lambda: (
            sum(d["amount_cents"] for d in _call(base, "GET", "/v1/dashboard", token=api_key)["usage_by_day"]) >= total
        ),
        what="the thirty days of usage on the dashboard",
        timeout=60,
    )
    done.append(f"{len(records)} calls over the last 30 days ({total / 100:.2f} €)")
    for month in months_to_state(datetime.now(UTC).date()):
        _call(base, "POST", "/v1/statements", token=api_key, body={"month": month})
    done.append("last month's statement and this month's to date")
    return done


async def keep_usage_flowing(nats_url: str, tenant_id: str, *, every_s: float, connect: dict | None = None) -> None:
    nc = await nats.connect(nats_url, **(connect or {}))
    js, rng = nc.jetstream(), random.Random()
    print(f"publishing a call for {tenant_id} every {every_s:g} s on {nats_url} (Ctrl-C stops)", flush=True)
    try:
        while True:
            record = _record(tenant_id, rng.randint(1, 5), datetime.now(UTC), rng)
            await js.publish("usage.recorded.v1", json.dumps(record).encode(), headers={"Nats-Msg-Id": record["id"]})
            print(
                f"  {record['description']}: {record['quantity']} min, -{record['amount_cents'] / 100:.2f} €",
                flush=True,
            )
            await asyncio.sleep(every_s)
    finally:
        await nc.drain()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.demo")
    parser.add_argument("command", choices=["usage"])
    parser.add_argument("--every", type=float, default=3.0, help="seconds between two calls")
    args = parser.parse_args()
    if not STACK.exists():
        raise SystemExit("no running stack found (var/stack.json): start it with `make run` first")
    stack = json.loads(STACK.read_text())
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            keep_usage_flowing(
                stack["nats_url"], stack["tenant_id"], every_s=args.every, connect=stack.get("nats_connect")
            )
        )


if __name__ == "__main__":
    main()
