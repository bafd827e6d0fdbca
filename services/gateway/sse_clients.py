"""One SSE client of the hub: pre-encoded items, bounded buffering, and the socket fast path.

A client is *priming* (buffering live items while its first messages are read), then *live*. Under
uvicorn's httptools protocol (HTTP/1.1 chunked) the hub adopts the socket once the first messages
are written: the client becomes the transport's protocol, uvicorn forgets the connection and its
request task ends (`stream.py`), so an open stream costs this object and the transport, not a
request's coroutines, scope and parser. An item's pre-encoded chunk is written straight to the
socket — no task wake-up, no per-client encoding — and the socket's end (`connection_lost`)
unregisters the client. Any other server keeps the request open and gets a bounded queue drained
by the response task (`queue`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram

OPEN_STREAMS = Gauge("sse_open_connections", "Open SSE connections on this gateway process")
SLOW_DISCONNECTS = Counter("sse_slow_client_disconnects_total", "SSE clients dropped for not keeping up")
FANNED_OUT = Counter("sse_messages_fanned_out_total", "Messages handed to SSE clients")
FANOUT_SECONDS = Histogram(
    "sse_fanout_seconds",
    "One message written to all of its tenant's SSE clients",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)


class Item:
    """One SSE message, encoded once for every client: the frame and its HTTP/1.1 chunk."""

    __slots__ = ("chunk", "frame", "seq")

    def __init__(self, seq: int, frame: bytes) -> None:
        self.seq = seq
        self.frame = frame
        self.chunk = b"%x\r\n%b\r\n" % (len(frame), frame)

    @classmethod
    def event(cls, seq: int, event: str, data: str) -> Item:
        event = event.replace("\n", " ").replace("\r", " ")
        return cls(seq, f"id: {seq}\nevent: {event}\ndata: {data}\n\n".encode())


HEARTBEAT = Item(-1, b": heartbeat\n\n")


class Client(asyncio.Protocol):
    __slots__ = (
        "backlog",
        "closed",
        "credential",
        "ends_at",
        "floor",
        "hub",
        "max_buffer_bytes",
        "queue",
        "queue_size",
        "tenant_id",
        "transport",
    )

    def __init__(
        self,
        tenant_id: str,
        *,
        queue_size: int,
        max_buffer_bytes: int,
        credential: str = "",
        ends_at: datetime | None = None,
        hub=None,
    ) -> None:
        self.hub = hub  # unregisters the client when its socket ends (`connection_lost`)
        self.tenant_id = tenant_id
        self.credential = credential  # what opened the stream: it ends with it (revocations.py)
        self.ends_at = ends_at
        self.queue_size = queue_size
        self.max_buffer_bytes = max_buffer_bytes
        self.floor = 0
        self.backlog: list[Item] | None = []
        self.transport = None
        self.queue: asyncio.Queue | None = None
        self.closed = False

    def deliver(self, item: Item) -> bool:
        if self.closed:
            return False
        if self.backlog is not None:  # priming
            if item.seq < 0:
                return False
            if len(self.backlog) >= self.queue_size:
                self.slow()
                return False
            self.backlog.append(item)
            return True
        if 0 <= item.seq <= self.floor:
            return False
        transport = self.transport
        if transport is not None:
            if transport.is_closing():
                self.closed = True
                return False
            if transport.get_write_buffer_size() > self.max_buffer_bytes:
                self.slow()
                return False
            transport.write(item.chunk)
            return True
        try:
            self.queue.put_nowait(item)
            return True
        except asyncio.QueueFull:
            self.slow()
            return False

    def activate(self, *, floor: int, transport=None) -> None:
        """Go live: deliver what was buffered above `floor`, then every new item as it comes."""
        backlog, self.backlog = self.backlog or [], None
        self.floor = floor
        if transport is not None:
            self.transport = transport
        else:
            self.queue = asyncio.Queue(self.queue_size + 1)
        if self.closed:  # overflowed while priming
            self._end(abort=True)
            return
        for item in backlog:
            self.deliver(item)

    # The socket's protocol once the hub adopted it (`stream.adopt`).

    def data_received(self, data: bytes) -> None:
        pass  # a stream's client has nothing more to say; whatever it sends is dropped

    def eof_received(self) -> None:
        return None  # the client is done: the transport closes, then `connection_lost`

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.hub is not None:
            self.hub.unregister(self)

    def slow(self) -> None:
        SLOW_DISCONNECTS.inc()
        self.closed = True
        self._end(abort=True)

    def close(self) -> None:
        self.closed = True
        self._end(abort=False)

    def _end(self, *, abort: bool) -> None:
        if self.backlog is not None:
            self.backlog = []
        elif self.transport is not None:
            self.transport.abort() if abort else self.transport.close()
        elif self.queue is not None:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)
