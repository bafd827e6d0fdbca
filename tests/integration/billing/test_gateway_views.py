"""What a customer reads over HTTP: balance (with holds), transaction pages under concurrent inserts,
and the dashboard (usage by day in TIMEZONE by occurred_at, runway)."""

import asyncio
from contextlib import asynccontextmanager
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx

from contracts.billing.v1 import Reserve
from contracts.payments.v1 import TopupPaid
from runtime.messaging import request
from services.payments.domain.bonus import bonus_for, parse_tiers
from tests.support.stack import billing, create_tenant, eventually, gateway, nats_client, publish_usage, running

BERLIN = ZoneInfo("Europe/Berlin")


@asynccontextmanager
async def stack(nats_url, database_url, new_schema):
    async with (
        running(billing(nats_url, database_url, new_schema(), timezone="Europe/Berlin")),
        running(gateway(nats_url, database_url, new_schema()), serve_http=True) as gw,
        nats_client(nats_url) as nc,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{gw.port}", timeout=10) as http,
    ):
        yield http, nc


async def credit(nc, tenant_id: str, cents: int, key: str = "t1") -> None:
    bonus = bonus_for(cents, parse_tiers("10000:5,25000:10,50000:15"))  # as payments decides with the defaults
    paid = TopupPaid(
        tenant_id=tenant_id,
        topup_id=f"{tenant_id}-{key}",
        amount_cents=cents,
        bonus_cents=bonus,
        payment_intent_id=f"pi_{key}",
        paid_at=datetime.now(BERLIN),
    )
    await nc.jetstream().publish(paid.subject, paid.model_dump_json().encode(), headers={"Nats-Msg-Id": paid.event_id})


async def balance_is(http, auth, cents: int) -> bool:
    return (await http.get("/v1/balance", headers=auth)).json()["balance_cents"] == cents


async def test_transaction_pages_never_repeat_or_skip_while_new_debits_arrive(nats_url, database_url, new_schema):
    async with stack(nats_url, database_url, new_schema) as (http, nc):
        tenant_id, auth = await create_tenant(http)
        js = nc.jetstream()
        for i in range(120):
            await publish_usage(js, usage_id=f"{tenant_id}-old-{i}", tenant_id=tenant_id, amount_cents=1)
        await eventually(lambda: balance_is(http, auth, -120), timeout=30)

        async def more_debits():
            for i in range(60):
                await publish_usage(js, usage_id=f"{tenant_id}-new-{i}", tenant_id=tenant_id, amount_cents=1)
                await asyncio.sleep(0.01)

        inserting = asyncio.create_task(more_debits())
        seen, cursor, pages = [], None, 0
        first = (await http.get("/v1/transactions", params={"limit": 25}, headers=auth)).json()
        seen += [t["reference"] for t in first["items"]]
        cursor = first["next_cursor"]
        while cursor:
            await asyncio.sleep(0.05)  # let new debits land between pages
            page = (await http.get("/v1/transactions", params={"limit": 25, "cursor": cursor}, headers=auth)).json()
            seen += [t["reference"] for t in page["items"]]
            cursor, pages = page["next_cursor"], pages + 1
        await inserting
        old = [r for r in seen if "-old-" in r]
        assert len(seen) == len(set(seen)), "a page repeated an item"
        assert set(old) == {f"{tenant_id}-old-{i}" for i in range(120)}, "a page skipped an item"
        assert [r for r in seen if "-new-" in r] == [r for r in seen[:25] if "-new-" in r]  # newer: first page only
        assert pages >= 4
        assert (await http.get("/v1/transactions", params={"cursor": "bogus!"}, headers=auth)).status_code == 400


async def test_balance_reports_available_after_holds(nats_url, database_url, new_schema):
    async with stack(nats_url, database_url, new_schema) as (http, nc):
        tenant_id, auth = await create_tenant(http)
        await credit(nc, tenant_id, 10000)
        await eventually(lambda: balance_is(http, auth, 10500), timeout=15)  # 100 € + 5 % bonus
        reply = await request(nc, Reserve(id=f"{tenant_id}-r1", tenant_id=tenant_id, amount_cents=3000))
        assert reply.ok and reply.available_cents == 7500
        body = (await http.get("/v1/balance", headers=auth)).json()
        assert (body["balance_cents"], body["available_cents"], body["currency"]) == (10500, 7500, "EUR")


async def test_dashboard_days_in_berlin_and_runway(nats_url, database_url, new_schema):
    async with stack(nats_url, database_url, new_schema) as (http, nc):
        tenant_id, auth = await create_tenant(http)
        empty = (await http.get("/v1/dashboard", headers=auth)).json()
        assert empty["projected_days_left"] == 0 and empty["usage_30d_cents"] == 0  # nothing available
        await credit(nc, tenant_id, 10000)
        await eventually(lambda: balance_is(http, auth, 10500), timeout=15)
        board = (await http.get("/v1/dashboard", headers=auth)).json()
        assert board["projected_days_left"] is None and board["topups_30d_cents"] == 10000  # no usage yet

        today = datetime.now(BERLIN).date()
        after_midnight = datetime.combine(today, time(0, 30), BERLIN)  # 23:30 UTC the day before
        before_midnight = after_midnight - timedelta(hours=1)  # 23:30 Berlin, yesterday
        js = nc.jetstream()
        await publish_usage(
            js,
            usage_id=f"{tenant_id}-a",
            tenant_id=tenant_id,
            amount_cents=300,
            quantity=3,
            occurred_at=after_midnight.isoformat(),
        )
        await publish_usage(
            js,
            usage_id=f"{tenant_id}-b",
            tenant_id=tenant_id,
            amount_cents=400,
            quantity=4,
            occurred_at=before_midnight.isoformat(),
        )
        await eventually(lambda: balance_is(http, auth, 9800), timeout=15)
        board = (await http.get("/v1/dashboard", headers=auth)).json()
        days = {d["date"]: (d["amount_cents"], d["quantity"]) for d in board["usage_by_day"]}
        assert days[today.isoformat()] == (300, 3)
        assert days[(today - timedelta(days=1)).isoformat()] == (400, 4)
        assert len(board["usage_by_day"]) == 30 and board["usage_30d_cents"] == 700
        assert board["projected_days_left"] == 9800 * 7 // 700  # 7-day burn of 700 → 100/day → 98 days

        await publish_usage(js, usage_id=f"{tenant_id}-c", tenant_id=tenant_id, amount_cents=9800)
        await eventually(lambda: balance_is(http, auth, 0), timeout=15)
        assert (await http.get("/v1/dashboard", headers=auth)).json()["projected_days_left"] == 0
