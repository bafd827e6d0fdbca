"""Usage in over HTTP (issue 20), end to end: a platform posts CloudEvents to the gateway, billing
debits them from JetStream, the tenant sees the result on its balance and its transactions.

Each failure mode of the issue is here: the same batch twice and from two clients at once, one
invalid event in a batch, and NATS away while a batch is posted.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.e2e.support import new_customer, open_stack, transactions, wait_balance
from tests.support.ingest import platform_key, post_events, usage_batch, usage_on_stream
from tests.support.stack import eventually, publish_usage


def stack(nats_url, database_url, new_schema, e2e_stripe, tmp_path):
    return open_stack(
        nats_url=nats_url,
        database_url=database_url,
        new_schema=new_schema,
        emulator=e2e_stripe,
        tmp_path=tmp_path,
        with_payments=False,
    )


def total(events: list[dict]) -> int:
    return sum(e["data"]["amount_cents"] for e in events)


async def usage_references(s, auth) -> list[str]:
    return sorted(t["reference"] for t in await transactions(s, auth) if t["kind"] == "usage")


async def test_the_same_batch_twice_and_from_two_clients_at_once_debits_each_id_once(
    nats_url, database_url, new_schema, e2e_stripe, tmp_path
):
    async with (
        stack(nats_url, database_url, new_schema, e2e_stripe, tmp_path) as s,
        httpx.AsyncClient(base_url=s.http.base_url, timeout=30) as other_client,
    ):
        tenant_id, auth = await new_customer(s)
        key = await platform_key(s.http)
        batch = usage_batch(tenant_id, 100)

        answers = await asyncio.gather(post_events(s.http, batch, key), post_events(other_client, batch, key))
        answers.append(await post_events(s.http, batch, key))

        assert [(a.status_code, a.json()) for a in answers] == [(202, {"accepted": 100})] * 3
        await wait_balance(s, auth, -total(batch))
        assert await usage_on_stream(s.nc) == 100
        assert await usage_references(s, auth) == sorted(e["id"] for e in batch)


async def test_an_id_sent_over_http_and_again_over_nats_is_debited_once(
    nats_url, database_url, new_schema, e2e_stripe, tmp_path
):
    async with stack(nats_url, database_url, new_schema, e2e_stripe, tmp_path) as s:
        tenant_id, auth = await new_customer(s)
        key = await platform_key(s.http)
        [event] = usage_batch(tenant_id, 1)

        assert (await post_events(s.http, [event], key)).status_code == 202
        await publish_usage(s.nc.jetstream(), usage_id=event["id"], tenant_id=tenant_id, amount_cents=1)
        await publish_usage(s.nc.jetstream(), usage_id="after-the-repeat", tenant_id=tenant_id, amount_cents=10)

        await wait_balance(s, auth, -11)
        assert await usage_references(s, auth) == sorted([event["id"], "after-the-repeat"])


async def test_one_invalid_event_among_valid_ones_refuses_the_whole_batch(
    nats_url, database_url, new_schema, e2e_stripe, tmp_path
):
    async with stack(nats_url, database_url, new_schema, e2e_stripe, tmp_path) as s:
        tenant_id, auth = await new_customer(s)
        key = await platform_key(s.http)
        batch = usage_batch(tenant_id, 100)
        batch[42]["data"]["amount_cents"] = 1.5  # amounts are integer cents

        refused = await post_events(s.http, batch, key)

        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert error["code"] == "validation_error"
        assert "event 42" in error["message"] and "amount_cents" in error["message"]
        assert "event 41" not in error["message"] and "event 43" not in error["message"]
        assert await usage_on_stream(s.nc) == 0

        # Nothing of it is debited later either: the next valid event is the tenant's only debit.
        after = usage_batch(tenant_id, 1)
        assert (await post_events(s.http, after, key)).status_code == 202
        await wait_balance(s, auth, -1)
        assert await usage_references(s, auth) == [after[0]["id"]]
        assert await usage_on_stream(s.nc) == 1


async def test_every_invalid_event_is_named_by_its_index(nats_url, database_url, new_schema, e2e_stripe, tmp_path):
    async with stack(nats_url, database_url, new_schema, e2e_stripe, tmp_path) as s:
        tenant_id, _ = await new_customer(s)
        key = await platform_key(s.http)
        batch = usage_batch(tenant_id, 10)
        batch[0]["specversion"] = "0.3"
        batch[3]["type"] = "usage.refunded"
        del batch[5]["subject"]
        batch[7]["time"] = "yesterday"
        batch[9]["data"]["amount_cents"] = "12"

        message = (await post_events(s.http, batch, key)).json()["error"]["message"]

        for index, field in ((0, "specversion"), (3, "type"), (5, "subject"), (7, "time"), (9, "data.amount_cents")):
            assert f"event {index}: {field}" in message, message
        assert await usage_on_stream(s.nc) == 0


async def test_more_than_a_thousand_events_are_refused_whole(nats_url, database_url, new_schema, e2e_stripe, tmp_path):
    async with stack(nats_url, database_url, new_schema, e2e_stripe, tmp_path) as s:
        tenant_id, _ = await new_customer(s)
        key = await platform_key(s.http)

        refused = await post_events(s.http, usage_batch(tenant_id, 1001), key)

        assert refused.status_code == 400
        assert refused.json()["error"] == {
            "code": "validation_error",
            "message": "1001 events in one request: at most 1000",
        }
        assert await usage_on_stream(s.nc) == 0


async def test_a_batch_posted_while_nats_is_down_answers_503_and_its_retry_debits_each_id_once(
    nats_server, nats_url, database_url, new_schema, e2e_stripe, tmp_path
):
    if nats_server is None:
        pytest.skip("NATS_URL points at a server this test cannot stop")
    async with stack(nats_url, database_url, new_schema, e2e_stripe, tmp_path) as s:
        tenant_id, auth = await new_customer(s)
        key = await platform_key(s.http)
        batch = usage_batch(tenant_id, 100)
        # What a publish cut short by the outage leaves behind: the first half made it to the stream.
        for event in batch[:50]:
            await publish_usage(
                s.nc.jetstream(), usage_id=event["id"], tenant_id=tenant_id, amount_cents=event["data"]["amount_cents"]
            )
        await wait_balance(s, auth, -total(batch[:50]))

        nats_server.stop()
        started = time.monotonic()
        during = await post_events(s.http, batch, key)
        answered_in = time.monotonic() - started
        nats_server.start()

        assert during.status_code == 503, during.text
        assert during.json()["error"]["code"] == "unavailable"
        assert answered_in < 3, f"503 after {answered_in:.1f} s: the client should not wait out NATS timeouts"

        async def retried() -> bool:  # what a platform does: the same batch, the same ids, until accepted
            answer = await post_events(s.http, batch, key)
            assert answer.status_code in (202, 503), answer.text
            return answer.status_code == 202

        await eventually(retried, timeout=20, interval=0.2)
        await wait_balance(s, auth, -total(batch))
        assert await usage_on_stream(s.nc) == 100
        assert await usage_references(s, auth) == sorted(e["id"] for e in batch)
