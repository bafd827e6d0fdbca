"""Outages heal by themselves: what can pass is retried until it succeeds, consumers never die
silently, and what had to be dead-lettered can be replayed once its cause is fixed."""

import asyncio
import json
import time

import httpx
from nats.js.api import StreamConfig
from prometheus_client import REGISTRY

from contracts.base import utcnow
from contracts.billing.v1 import GetBalance
from contracts.payments.v1 import PaymentRefunded, TopupPaid
from contracts.usage.v1 import UsageRecorded
from runtime import dlq
from runtime.consumers import PullConsumer
from runtime.messaging import ensure_streams, request
from services.billing import use_cases
from services.payments.domain.bonus import bonus_for, parse_tiers
from tests.integration.runtime.test_reliability import stream_messages
from tests.support.stack import billing, eventually, nats_client, publish_usage, running

OUTAGE_S = 45  # longer than the retry budget that used to dead-letter (0.5 + 2 + 10 + 30 s)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def publish(js, event) -> None:
    await js.publish(event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.event_id})


async def balance(nc, tenant_id: str) -> int | None:
    try:
        return (await request(nc, GetBalance(tenant_id=tenant_id), timeout=2)).balance_cents
    except Exception:
        return None


async def dead_letters(js) -> list[dict]:
    return [json.loads(m.data) for m in await stream_messages(js, "DLQ", "dlq.>")]


def topup_paid(tenant_id: str, topup_id: str, cents: int) -> TopupPaid:
    return TopupPaid(
        tenant_id=tenant_id,
        topup_id=topup_id,
        amount_cents=cents,
        bonus_cents=bonus_for(cents, parse_tiers("10000:5,25000:10,50000:15")),  # payments' defaults
        payment_intent_id=f"pi_{topup_id}",
        paid_at=utcnow(),
    )


async def test_a_database_outage_longer_than_the_old_retry_budget_loses_no_debit_credit_or_refund(
    nats_url, private_postgres, tenant_id
):
    service = billing(nats_url, private_postgres.url(), "billing")
    async with (
        running(service, serve_http=True),
        nats_client(nats_url) as nc,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{service.port}") as http,
    ):
        js = nc.jetstream()
        first = f"top_a_{tenant_id}"
        await publish(js, topup_paid(tenant_id, first, 10_000))  # +5 % bonus
        await eventually(lambda: _is(balance(nc, tenant_id), 10_500))

        private_postgres.stop()
        for i in range(50):
            await publish_usage(js, usage_id=f"{tenant_id}-u{i}", tenant_id=tenant_id, amount_cents=10)
        await publish(
            js,
            PaymentRefunded(
                tenant_id=tenant_id,
                refund_id=f"re_{tenant_id}",
                topup_id=first,
                payment_intent_id=f"pi_{first}",
                amount_cents=2_000,
                topup_amount_cents=10_000,
                refunded_at=utcnow(),
            ),
        )
        await publish(js, topup_paid(tenant_id, f"top_b_{tenant_id}", 5_000))
        await asyncio.sleep(OUTAGE_S / 2)
        ready = await http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["database"] != "ok"
        assert sample("messages_retrying", consumer="billing-usage") > 0
        assert sample("messages_retry_oldest_seconds", consumer="billing-usage") > 10
        await asyncio.sleep(OUTAGE_S / 2)
        private_postgres.start()
        back = time.monotonic()

        # 10,500 − 50 × 10 − 2,000 refunded − floor(500 × 2,000 / 10,000) bonus reversed + 5,000
        await eventually(lambda: _is(balance(nc, tenant_id), 12_900), timeout=30)
        print(f"\nwhole again {time.monotonic() - back:.1f} s after PostgreSQL came back")
        assert await dead_letters(js) == []
        assert (await http.get("/readyz")).status_code == 200
        await eventually(lambda: sample("messages_retrying", consumer="billing-usage") == 0, timeout=15)


async def test_a_refund_that_overtakes_its_credit_waits_for_it_instead_of_the_dead_letter_queue(
    nats_url, database_url, new_schema, tenant_id
):
    async with running(billing(nats_url, database_url, new_schema())), nats_client(nats_url) as nc:
        js = nc.jetstream()
        retried_before = sample("messages_retried_total", consumer="billing-payment-refunded", kind="transient")
        topup_id = f"top_{tenant_id}"
        await publish(
            js,
            PaymentRefunded(
                tenant_id=tenant_id,
                refund_id=f"re_{tenant_id}",
                topup_id=topup_id,
                payment_intent_id=f"pi_{topup_id}",
                amount_cents=10_000,
                topup_amount_cents=10_000,
                refunded_at=utcnow(),
            ),
        )

        def retried() -> float:
            return (
                sample("messages_retried_total", consumer="billing-payment-refunded", kind="transient") - retried_before
            )

        await eventually(lambda: retried() >= 5, timeout=30)  # the old budget dead-lettered at the 5th delivery
        assert await dead_letters(js) == []
        await publish(js, topup_paid(tenant_id, topup_id, 10_000))

        await eventually(lambda: _is(balance(nc, tenant_id), 0), timeout=30)  # + 10,500 − 10,000 − 500


async def test_a_consumer_whose_dead_letter_queue_is_away_goes_on_and_dead_letters_later(
    nats_url, database_url, new_schema, tenant_id
):
    """Dead-lettering needs the DLQ stream: while it is unavailable (deleted here; a leader election or
    a restart look the same) the poison message is handed back, and the consumer carries on."""
    async with running(billing(nats_url, database_url, new_schema())), nats_client(nats_url) as nc:
        js = nc.jetstream()
        await js.delete_stream("DLQ")
        await js.publish("usage.recorded.v1", b'{"id": "broken", "tenant_id": 42}')
        for i in range(3):
            await publish_usage(js, usage_id=f"{tenant_id}-{i}", tenant_id=tenant_id, amount_cents=7)

        await eventually(lambda: _is(balance(nc, tenant_id), -21), timeout=15)
        await ensure_streams(js)  # the DLQ is back
        letters = await eventually(lambda: dead_letters(js), timeout=20)
        assert [letter["consumer"] for letter in letters] == ["billing-usage"]
        await publish_usage(js, usage_id=f"{tenant_id}-after", tenant_id=tenant_id, amount_cents=1)
        await eventually(lambda: _is(balance(nc, tenant_id), -22), timeout=15)


async def test_readiness_says_which_consumer_is_down_and_a_consumer_comes_back_by_itself(
    nats_url, database_url, new_schema, tenant_id
):
    service = billing(nats_url, database_url, new_schema())
    async with (
        running(service, serve_http=True),
        nats_client(nats_url) as nc,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{service.port}") as http,
    ):
        js = nc.jetstream()
        await eventually(lambda: _status(http, 200))
        restarts = sample("consumer_restarts_total", consumer="billing-topup-paid")
        await js.delete_stream("PAYMENTS")  # its durables go with it (an operator's mistake, a lost volume)

        down = await eventually(lambda: _status(http, 503), timeout=20)
        assert "billing-topup-paid" in down["checks"]["consumers"]
        await js.add_stream(StreamConfig(name="PAYMENTS", subjects=["payments.*.*.v1"], duplicate_window=3600))
        await eventually(lambda: _status(http, 200), timeout=40)
        assert sample("consumer_restarts_total", consumer="billing-topup-paid") > restarts

        await publish(js, topup_paid(tenant_id, f"top_{tenant_id}", 2_000))
        await eventually(lambda: _is(balance(nc, tenant_id), 2_000), timeout=15)


async def test_a_dead_letter_is_replayed_once_its_cause_is_fixed_and_only_to_its_consumer(
    nats_url, database_url, new_schema, tenant_id, monkeypatch
):
    service = billing(nats_url, database_url, new_schema())
    bad_id = f"{tenant_id}-bad"
    record_usage = use_cases.record_usage

    async def with_a_bug(*, deps, records):
        if any(r.id == bad_id for r in records):
            raise ZeroDivisionError("a bug in the handler")
        return await record_usage(deps=deps, records=records)

    monkeypatch.setattr(use_cases, "record_usage", with_a_bug)
    async with running(service), nats_client(nats_url) as nc:
        js = nc.jetstream()
        seen_by_others: list[str] = []

        async def another_consumer_of_usage(records: list[UsageRecorded]) -> None:
            seen_by_others.extend(r.id for r in records)

        other = PullConsumer(UsageRecorded, f"other-{tenant_id[-8:]}", another_consumer_of_usage)
        other_task = asyncio.create_task(other.run(js))
        await publish_usage(js, usage_id=bad_id, tenant_id=tenant_id, amount_cents=30)
        await publish_usage(js, usage_id=f"{tenant_id}-good", tenant_id=tenant_id, amount_cents=5)
        letters = await eventually(lambda: dlq.dead_letters(js, consumer="billing-usage"), timeout=30)
        assert await balance(nc, tenant_id) == -5
        assert "ZeroDivisionError" in letters[0].error and letters[0].num_delivered == 5

        monkeypatch.setattr(use_cases, "record_usage", record_usage)  # the fix is deployed
        assert await dlq.replay(js, letters, keep=True) == 1
        await eventually(lambda: _is(balance(nc, tenant_id), -35))
        assert await dlq.replay(js, letters) == 1  # replayed twice by mistake: debited once
        await asyncio.sleep(1.0)
        assert await balance(nc, tenant_id) == -35
        assert await dlq.dead_letters(js, consumer="billing-usage") == []  # removed after the replay
        assert seen_by_others.count(bad_id) == 1  # the replays were for billing-usage alone
        await other.drain()
        await other_task


async def _is(awaitable, expected) -> bool:
    return (await awaitable) == expected


async def _status(http, code: int):
    response = await http.get("/readyz")
    return response.json() if response.status_code == code else None
