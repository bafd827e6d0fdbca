"""Server-Sent Events: one JetStream subscription per gateway process, fanned out to its clients.

Every message's `id:` is its sequence in the PORTAL stream, so a client that reconnects with
`Last-Event-ID` gets exactly what it missed, replayed from the stream, then the live feed — no gap
and no duplicate: the client is registered for live messages *before* the replay's upper bound is
read, and live messages at or below that bound are skipped. A client that cannot keep up (its
bounded queue is full) is disconnected; it resumes with `Last-Event-ID`.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass, field

import structlog
from nats.js.api import ConsumerConfig, DeliverPolicy
from prometheus_client import Counter, Gauge

from contracts.subjects import PORTAL

log = structlog.get_logger(__name__)

OPEN_STREAMS = Gauge("sse_open_connections", "Open SSE connections on this gateway process")
SLOW_DISCONNECTS = Counter("sse_slow_client_disconnects_total", "SSE clients dropped for not keeping up")
FANNED_OUT = Counter("sse_messages_fanned_out_total", "Messages handed to SSE clients")


@dataclass(frozen=True)
class Item:
    seq: int
    event: str
    data: str


CLOSE = Item(-1, "", "")


@dataclass(eq=False)
class Client:
    tenant_id: str
    queue: asyncio.Queue
    floor: int = 0
    closed: bool = False

    def offer(self, item: Item) -> bool:
        if self.closed:
            return False
        try:
            self.queue.put_nowait(item)
            return True
        except asyncio.QueueFull:
            self.closed = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(CLOSE)
            SLOW_DISCONNECTS.inc()
            return False


@dataclass
class Hub:
    queue_size: int = 1000
    replay_limit: int = 10_000
    js: object = None
    clients: dict[str, set[Client]] = field(default_factory=lambda: defaultdict(set))
    _sub: object = None

    async def start(self, js) -> None:
        self.js = js
        self._sub = await js.subscribe(
            "portal.>", stream=PORTAL.name, ordered_consumer=True, deliver_policy=DeliverPolicy.NEW,
            cb=self._on_message, pending_msgs_limit=1_000_000,
        )

    async def stop(self) -> None:
        for group in list(self.clients.values()):
            for client in list(group):
                client.offer(CLOSE)
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
        for client in list(self.clients.get(envelope.get("tenant_id"), ())):
            if client.offer(item):
                FANNED_OUT.inc()

    def register(self, tenant_id: str) -> Client:
        client = Client(tenant_id, asyncio.Queue(self.queue_size))
        self.clients[tenant_id].add(client)
        OPEN_STREAMS.inc()
        return client

    def unregister(self, client: Client) -> None:
        group = self.clients.get(client.tenant_id)
        if group is not None and client in group:
            group.discard(client)
            OPEN_STREAMS.dec()
            if not group:
                self.clients.pop(client.tenant_id, None)

    async def last_seq(self) -> int:
        return (await self.js.stream_info(PORTAL.name)).state.last_seq

    async def replay(self, tenant_id: str, *, after: int, upto: int) -> list[Item]:
        """The tenant's messages with after < seq <= upto, oldest first (at most `replay_limit` scanned)."""
        if upto <= after:
            return []
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1,
                                inactive_threshold=30)
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
    return Item(seq, envelope["type"], json.dumps(envelope.get("data", {}), separators=(",", ":")))
