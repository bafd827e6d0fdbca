"""Server-Sent Events: one JetStream subscription per gateway process, fanned out to its clients.

Every message's `id:` is its sequence in the PORTAL stream, so a client that reconnects with
`Last-Event-ID` gets exactly what it missed, replayed from the stream, then the live feed — no gap
and no duplicate: the client is registered (buffering) *before* the replay's upper bound is read,
and buffered or live messages at or below that bound are skipped.

A process holds 20,000 streams: once a stream's first messages are written the hub adopts its
socket (`stream.adopt`, `sse_clients.Client`), so an open stream costs a client object and a
transport, not a request. A message is encoded once (SSE frame and HTTP chunk) and written to each
client's socket directly; one timer sends every client's heartbeat. A client whose unsent bytes
exceed the limit is disconnected rather than buffered without bound; it resumes with `Last-Event-ID`.

A stream ends with the credential that opened it (`close_ended`, fed by `Revocations`) and with its
session's expiry (checked at each heartbeat). A replay scans the PORTAL stream from the client's
last id: one that spans more than `REPLAY_FREE_MESSAGES` waits for one of `replay_concurrency`
slots, at most `replay_wait_s`, so that resuming from far back cannot be multiplied into a scan
of the whole stream per connection; short resumes (a reconnect) never wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from nats.js.api import ConsumerConfig, DeliverPolicy

from contracts.subjects import PORTAL
from services.gateway.sse_clients import FANNED_OUT, FANOUT_SECONDS, HEARTBEAT, OPEN_STREAMS, Client, Item

log = structlog.get_logger(__name__)
REPLAY_FREE_MESSAGES = 500  # one fetch: what a reconnect after a short break scans


class ReplayBusy(Exception):
    """Every replay slot stayed taken for `replay_wait_s`."""


@dataclass
class Hub:
    queue_size: int = 1000
    replay_limit: int = 10_000
    max_buffer_bytes: int = 256 * 1024
    heartbeat_s: float = 15.0
    replay_concurrency: int = 4
    replay_wait_s: float = 10.0
    js: object = None
    clients: dict[str, set[Client]] = field(default_factory=lambda: defaultdict(set))
    by_credential: dict[str, set[Client]] = field(default_factory=lambda: defaultdict(set))
    _replay_slots: asyncio.Semaphore | None = None
    _sub: object = None
    _heartbeat: asyncio.Task | None = None

    async def start(self, js) -> None:
        self.js = js
        self._sub = await js.subscribe(
            "portal.>",
            stream=PORTAL.name,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.NEW,
            cb=self._on_message,
            pending_msgs_limit=1_000_000,
        )
        self._heartbeat = asyncio.create_task(self._beat(), name="sse-heartbeat")

    async def stop(self) -> None:
        if self._heartbeat:
            self._heartbeat.cancel()
        for group in list(self.clients.values()):
            for client in list(group):
                client.close()
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except Exception as exc:  # connection already closing
                log.info("sse.unsubscribe_failed", error=repr(exc))

    async def _on_message(self, msg) -> None:
        try:
            envelope = json.loads(msg.data)
            item = to_item(msg.metadata.sequence.stream, envelope)
        except Exception as exc:
            log.warning("sse.bad_message", subject=msg.subject, error=repr(exc))
            return
        group = self.clients.get(envelope.get("tenant_id"))
        if group:
            started = time.perf_counter()
            delivered = sum(client.deliver(item) for client in list(group))
            FANOUT_SECONDS.observe(time.perf_counter() - started)
            FANNED_OUT.inc(delivered)

    async def _beat(self) -> None:
        """Every client gets `: heartbeat` each `heartbeat_s`; closed sockets and sessions that
        expired meanwhile are noticed here too."""
        while True:
            await asyncio.sleep(self.heartbeat_s)
            now = datetime.now(UTC)
            for group in list(self.clients.values()):
                for n, client in enumerate(list(group)):
                    if client.ends_at is not None and client.ends_at <= now:
                        client.close()
                        continue
                    client.deliver(HEARTBEAT)
                    if n % 1000 == 999:
                        await asyncio.sleep(0)  # let live messages through during a long sweep

    def register(self, tenant_id: str, *, credential: str = "", ends_at: datetime | None = None) -> Client:
        client = Client(
            tenant_id,
            queue_size=self.queue_size,
            max_buffer_bytes=self.max_buffer_bytes,
            credential=credential,
            ends_at=ends_at,
            hub=self,
        )
        self.clients[tenant_id].add(client)
        self.by_credential[credential].add(client)
        OPEN_STREAMS.inc()
        return client

    def unregister(self, client: Client) -> None:
        group = self.clients.get(client.tenant_id)
        if group is not None and client in group:
            group.discard(client)
            OPEN_STREAMS.dec()
            if not group:
                self.clients.pop(client.tenant_id, None)
        opened_with = self.by_credential.get(client.credential)
        if opened_with is not None:
            opened_with.discard(client)
            if not opened_with:
                self.by_credential.pop(client.credential, None)

    def open_streams(self, tenant_id: str) -> int:
        return len(self.clients.get(tenant_id, ()))

    def close_ended(self, ended: set[str]) -> None:
        """Close every stream opened with one of these credentials (they unregister as they go)."""
        for credential in ended:
            for client in list(self.by_credential.get(credential, ())):
                client.close()

    async def last_seq(self) -> int:
        return (await self.js.stream_info(PORTAL.name)).state.last_seq

    async def replay(self, tenant_id: str, *, after: int, upto: int) -> list[Item]:
        """The tenant's messages with after < seq <= upto, oldest first (at most `replay_limit` scanned)."""
        if upto <= after:
            return []
        if upto - after <= REPLAY_FREE_MESSAGES:
            return await self._scan(tenant_id, after=after, upto=upto)
        async with self._replay_slot():
            return await self._scan(tenant_id, after=after, upto=upto)

    @contextlib.asynccontextmanager
    async def _replay_slot(self):
        if self._replay_slots is None:
            self._replay_slots = asyncio.Semaphore(self.replay_concurrency)
        try:
            async with asyncio.timeout(self.replay_wait_s):
                await self._replay_slots.acquire()
        except TimeoutError:
            raise ReplayBusy from None
        try:
            yield
        finally:
            self._replay_slots.release()

    async def _scan(self, tenant_id: str, *, after: int, upto: int) -> list[Item]:
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1, inactive_threshold=30
        )
        psub = await self.js.pull_subscribe("portal.>", stream=PORTAL.name, config=config)
        items: list[Item] = []
        scanned = 0
        try:
            while scanned < self.replay_limit:
                msgs = await psub.fetch(min(500, self.replay_limit - scanned), timeout=2)
                for msg in msgs:
                    seq = msg.metadata.sequence.stream
                    scanned += 1
                    if seq > upto:
                        return items
                    envelope = json.loads(msg.data)
                    if envelope.get("tenant_id") == tenant_id:
                        items.append(to_item(seq, envelope))
                    if seq == upto:
                        return items
        except TimeoutError:
            return items
        finally:
            await psub.unsubscribe()
        return items


def to_item(seq: int, envelope: dict) -> Item:
    return Item.event(seq, envelope["type"], json.dumps(envelope.get("data", {}), separators=(",", ":")))
