"""Ceilings for the ledger benchmark: what JetStream and PostgreSQL do alone on this machine.

* JetStream: pull (batches of 500) and ack usage-sized messages, nothing else.
* PostgreSQL: insert ledger-transaction rows in batches of 500 per transaction (multi-row
  `executemany` through asyncpg), into a copy of the ledger table with its indexes.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

import asyncpg
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

BATCH = 500


def usage_payload(usage_id: str, tenant_id: str, cents: int) -> bytes:
    return json.dumps(
        {
            "id": usage_id,
            "tenant_id": tenant_id,
            "amount_cents": cents,
            "quantity": 1,
            "unit": "minute",
            "description": "call",
            "occurred_at": "2026-11-26T10:00:00Z",
        }
    ).encode()


async def publish_many(js, subject: str, payloads: list[tuple[str, bytes]], *, window: int = 2000) -> float:
    """Publish (msg id, body) pairs with up to `window` acks in flight; answer messages/s."""
    started = time.perf_counter()
    for i in range(0, len(payloads), window):
        acks = [
            await js.publish_async(subject, body, headers={"Nats-Msg-Id": mid})
            for mid, body in payloads[i : i + window]
        ]
        await asyncio.gather(*acks)
    return len(payloads) / (time.perf_counter() - started)


async def jetstream_consume_rate(js, *, messages: int = 50_000) -> float:
    """Raw pull + ack rate (messages/s) of a private stream holding `messages` usage records."""
    name, subject = f"CEIL{uuid.uuid4().hex[:6]}".upper(), f"ceiling.{uuid.uuid4().hex[:6]}"
    await js.add_stream(StreamConfig(name=name, subjects=[subject]))
    try:
        await publish_many(js, subject, [(f"c{i}", usage_payload(f"c{i}", f"t{i % 100}", 7)) for i in range(messages)])
        psub = await js.pull_subscribe(
            subject,
            durable="ceiling",
            stream=name,
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, max_ack_pending=4000),
        )
        done, started = 0, time.perf_counter()
        while done < messages:
            for msg in await psub.fetch(BATCH, timeout=5):
                await msg.ack()
                done += 1
        rate = done / (time.perf_counter() - started)
        await psub.unsubscribe()
        return rate
    finally:
        await js.delete_stream(name)


async def postgres_insert_rate(dsn: str, schema: str, *, seconds: float = 5.0) -> float:
    """Rows/s inserting ledger-transaction rows, 500 per transaction, into a copy of the ledger table."""
    conn = await asyncpg.connect(dsn)
    table = f'"{schema}".ceiling_tx'
    try:
        await conn.execute(f'CREATE TABLE {table} (LIKE "{schema}".ledger_transactions INCLUDING ALL)')
        await conn.execute(f'CREATE SEQUENCE "{schema}".ceiling_seq OWNED BY {table}.seq')
        await conn.execute(f"ALTER TABLE {table} ALTER seq SET DEFAULT nextval('\"{schema}\".ceiling_seq')")
        sql = (
            f"INSERT INTO {table} (id, tenant_id, kind, amount_cents, balance_after_cents, description, "
            "reference, source_key, quantity, occurred_at, created_at) "
            "VALUES ($1, $2, 'usage', $3, $4, 'call', $5, $6, 1, $7, $7)"
        )
        now, done = datetime.now(UTC), 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            rows = [
                (f"x{done + i}", f"t{i % 100}", -7, -7 * i, f"u{done + i}", f"usage:u{done + i}", now)
                for i in range(BATCH)
            ]
            async with conn.transaction():
                await conn.executemany(sql, rows)
            done += BATCH
        return done / (time.perf_counter() - started)
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.close()
