"""Publish a batch of messages into JetStream and wait until every one is stored: the outbox relay's
publisher.

`js.publish_async` costs, per message, a validated publish with its headers built byte by byte, a
future with a done callback, a semaphore, a reply token from `os.urandom`, and on the way back a
callback task, `json.loads` and a `PubAck` object: measured, about a fifth of billing's CPU per debit
(one `transaction.created` per debit). Here a round is one write of `HPUB` commands, each with its
own reply subject `<inbox>.<n>` on one subscription of this connection's private inbox, and the
PubAcks are counted off that subscription's queue: a stored message's PubAck starts with
`{"stream":` (a duplicate inside the stream's window is stored already, which is what an outbox
re-publish after a crash wants); anything else — a JetStream error, no stream (503) — fails the
round, as does a PubAck missing after the timeout. A round that failed is repeated by the relay;
a late PubAck of an earlier round is ignored (its number is outside the current round).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import nats.errors
import nats.js.errors

_NEWLINES = bytes.maketrans(b"\r\n", b"  ")  # as nats-py writes a header value
_STORED = b'{"stream":'
_HEADER = len(b"NATS/1.0\r\nNats-Msg-Id: \r\n\r\n")  # a message's header, less its id


class PublishFailed(nats.js.errors.Error):
    """JetStream did not store a message of the round (its answer or no answer in time)."""


class BulkPublisher:
    def __init__(self, nc) -> None:
        self.nc = nc
        self._sub = None
        self._prefix = b""
        self._next = 0  # number of the next message: its reply subject is <inbox>.<number>
        self._round = asyncio.Lock()  # one round at a time reads the PubAcks (the relay and a flush)

    async def _subscribe(self) -> None:
        inbox = self.nc.new_inbox()  # this connection's private prefix (its NATS user may read it)
        self._sub = await self.nc.subscribe(f"{inbox}.*")  # no callback: PubAcks wait in its queue
        self._prefix = f"{inbox}.".encode()

    async def publish(self, messages: Sequence[tuple[bytes, bytes, bytes]], *, timeout: float) -> None:
        """(subject, payload, Nats-Msg-Id) each, as bytes, in this order; returns once JetStream stored all."""
        if not messages:
            return
        async with self._round:
            await self._publish(messages, timeout=timeout)

    async def _publish(self, messages: Sequence[tuple[bytes, bytes, bytes]], *, timeout: float) -> None:
        nc = self.nc
        if not nc.is_connected:  # what nats-py's publish refuses as well while reconnecting
            raise nats.errors.ConnectionReconnectingError
        if self._sub is None:
            await self._subscribe()
        first, prefix, limit = self._next, self._prefix, nc.max_payload
        self._next += len(messages)
        commands = []
        for n, (subject, payload, msg_id) in enumerate(messages, first):
            msg_id = msg_id.strip()
            if b"\r" in msg_id or b"\n" in msg_id:
                msg_id = msg_id.translate(_NEWLINES)
            header = len(msg_id) + _HEADER
            size = header + len(payload)
            if size > limit:
                raise nats.errors.MaxPayloadError
            commands.append(
                b"HPUB %s %s%d %d %d\r\nNATS/1.0\r\nNats-Msg-Id: %s\r\n\r\n%s\r\n"
                % (subject, prefix, n, header, size, msg_id, payload)
            )
        await nc._send_command(b"".join(commands))
        await nc._flush_pending()
        await self._stored(first, len(messages), timeout)

    async def _stored(self, first: int, count: int, timeout: float) -> None:
        sub = self._sub
        assert sub is not None
        queue: asyncio.Queue = sub._pending_queue
        skip = len(self._prefix)
        acked = bytearray(count)
        left = count
        async with asyncio.timeout(timeout):
            while left:
                msg = queue.get_nowait() if not queue.empty() else await queue.get()
                sub._pending_size -= len(msg.data)
                queue.task_done()
                i = int(msg.subject[skip:]) - first
                if not 0 <= i < count or acked[i]:
                    continue  # a late answer to an earlier round
                if not msg.data.startswith(_STORED):
                    raise PublishFailed(f"JetStream did not store an outbox message: {_answer(msg)}")
                acked[i] = 1
                left -= 1


def _answer(msg) -> str:
    try:
        return json.dumps(json.loads(msg.data).get("error")) if msg.data else f"status {msg.headers}"
    except Exception:
        return repr(msg.data[:200])
