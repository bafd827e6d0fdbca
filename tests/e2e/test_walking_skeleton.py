"""The money path end to end: admin creates a tenant, usage arrives on NATS, the balance and the
live stream show the debit exactly once."""

import json

import httpx

from tests.support.stack import (
    SseReader,
    billing,
    create_tenant,
    eventually,
    gateway,
    nats_client,
    publish_usage,
    running,
)


async def test_usage_on_nats_shows_in_balance_transactions_and_stream(nats_url, database_url, new_schema):
    async with (
        running(billing(nats_url, database_url, new_schema())),
        running(gateway(nats_url, database_url, new_schema()), serve_http=True) as gw,
        nats_client(nats_url) as nc,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{gw.port}", timeout=10) as http,
    ):
        tenant_id, auth = await create_tenant(http)
        assert (await http.get("/v1/balance", headers=auth)).json()["balance_cents"] == 0

        async with http.stream("GET", "/v1/stream", headers=auth) as stream:
            sse = SseReader(stream)
            first = await sse.next()
            assert first["event"] == "balance.updated"
            assert json.loads(first["data"])["balance_cents"] == 0

            for _ in range(3):  # the platform retries: one debit
                await publish_usage(
                    nc.jetstream(), usage_id=f"{tenant_id}-call-1", tenant_id=tenant_id, amount_cents=199
                )
            update = await sse.until("balance.updated")
            assert json.loads(update["data"])["balance_cents"] == -199
            assert int(update["id"]) > int(first["id"])

        async def balance():
            return (await http.get("/v1/balance", headers=auth)).json()["balance_cents"]

        await eventually(lambda: _equals(balance(), -199))
        items = (await http.get("/v1/transactions", headers=auth)).json()["items"]
        assert [(t["kind"], t["amount_cents"], t["balance_after_cents"]) for t in items] == [("usage", -199, -199)]


async def _equals(awaitable, expected):
    return (await awaitable) == expected
