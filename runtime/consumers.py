"""Durable JetStream pull consumers with batches, inbox semantics (in the handler) and dead letters.

Replicas bind to the same durable name and share its messages. A batch is a long poll for one
message, which returns the moment one is there, then a fetch of as many more as JetStream says are
waiting (the first message's `num_pending`), up to the batch size: batching costs no latency at low
volume, and a burst is taken in full batches.

`drain()` (SIGTERM) stops fetching. An idle long poll holds no message and is abandoned; the batch
in hand is finished and acknowledged; messages delivered but not yet handled are nak'ed (another
replica takes them at once instead of after `ack_wait`); the subscription is removed, so closing
the connection does not wait on it. (Cancelling a `fetch(batch)` that is receiving would strand
its messages until `ack_wait`: the poll for the first message is the only thing ever cancelled.)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from contracts.base import Message
from runtime.messaging import MAX_DELIVER, consume_batch

log = structlog.get_logger(__name__)


@dataclass
class PullConsumer:
    message_cls: type[Message]
    durable: str
    handle: Callable[[list], Awaitable[None]]
    batch_size: int = 100
    fetch_timeout_s: float = 5.0
    gather_s: float = 0.1
    subject: str | None = None
    deliver_policy: DeliverPolicy = DeliverPolicy.ALL
    _running: bool = field(default=False, init=False)
    _started: bool = field(default=False, init=False)
    _draining: bool = field(default=False, init=False)
    _stopped: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _polling: asyncio.Future | None = field(default=None, init=False)

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=30,
            max_deliver=MAX_DELIVER + 1,
            deliver_policy=self.deliver_policy,
            max_ack_pending=max(self.batch_size * 4, 1000),
            filter_subject=self.subject or self.message_cls.subject,
        )

    async def run(self, js) -> None:
        if self._draining:
            return
        self._started = self._running = True
        try:
            subject = self.subject or self.message_cls.subject
            psub = await js.pull_subscribe(subject, durable=self.durable, stream=self.message_cls.stream,
                                           config=self.config())
            try:
                while self._running:
                    msgs = await self._next_batch(psub)
                    if msgs:
                        await consume_batch(msgs, model=self.message_cls, consumer=self.durable, js=js,
                                            handle=self.handle)
            finally:
                await self._release(psub)
        finally:
            self._stopped.set()

    async def _next_batch(self, psub) -> list:
        """Long poll for the first message, then what is waiting behind it ([] on timeout or drain)."""
        self._polling = asyncio.ensure_future(psub.fetch(1, timeout=self.fetch_timeout_s))
        try:
            first = await self._polling
        except (NatsTimeout, TimeoutError):
            return []
        except asyncio.CancelledError:
            if self._running:  # our task is cancelled, not just the poll (drain)
                raise
            return []
        except Exception as exc:  # reconnecting, no stream leader (failover), connection closed
            if self._running:
                log.warning("consumer.fetch_failed", durable=self.durable, error=repr(exc))
                await asyncio.sleep(0.5)
            return []
        finally:
            self._polling = None
        more = min(_pending_after(first[0]), self.batch_size - 1)
        if more <= 0:
            return first
        try:
            return first + await psub.fetch(more, timeout=self.gather_s)
        except Exception:  # taken by another replica meanwhile, or a hiccup: handle what we have
            return first

    async def _release(self, psub) -> None:
        """Nak messages delivered but never handled (redelivered at once), then unsubscribe."""
        queue = getattr(getattr(psub, "_sub", None), "_pending_queue", None)
        while queue is not None and not queue.empty():
            msg = queue.get_nowait()
            if (msg.reply or "").startswith("$JS.ACK"):
                with contextlib.suppress(Exception):
                    await msg.nak()
        with contextlib.suppress(Exception):
            await psub.unsubscribe()

    async def drain(self) -> None:
        """Stop fetching; the batch in hand is finished (and acked) before this returns."""
        self._draining, self._running = True, False
        if self._polling is not None and not self._polling.done():
            self._polling.cancel()  # waiting for a first message: nothing in hand
        if self._started:
            await self._stopped.wait()


def _pending_after(msg) -> int:
    try:
        return int(msg.metadata.num_pending or 0)
    except Exception:  # no JetStream metadata
        return 0
