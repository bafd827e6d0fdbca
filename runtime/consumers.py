"""Durable JetStream pull consumers with batches, inbox semantics (in the handler) and dead letters.

Replicas bind to the same durable name and share its messages. `fetch` returns as soon as at least
one message is there (then takes whatever else is ready, up to the batch size), so batching costs
no latency at low volume, and the long poll avoids the lost-message race of very short fetches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from nats.errors import ConnectionClosedError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import ServiceUnavailableError

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
    subject: str | None = None
    deliver_policy: DeliverPolicy = DeliverPolicy.ALL
    _running: bool = field(default=False, init=False)
    _idle: asyncio.Event = field(default_factory=asyncio.Event, init=False)

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
        subject = self.subject or self.message_cls.subject
        psub = await js.pull_subscribe(subject, durable=self.durable, stream=self.message_cls.stream,
                                       config=self.config())
        self._running = True
        while self._running:
            self._idle.set()
            try:
                msgs = await psub.fetch(self.batch_size, timeout=self.fetch_timeout_s)
            except (NatsTimeout, TimeoutError):
                continue
            except (ConnectionClosedError, ServiceUnavailableError) as exc:
                log.warning("consumer.fetch_failed", durable=self.durable, error=repr(exc))
                await asyncio.sleep(0.5)
                continue
            except Exception as exc:
                if not self._running:
                    break
                log.warning("consumer.fetch_error", durable=self.durable, error=repr(exc))
                await asyncio.sleep(0.5)
                continue
            self._idle.clear()
            await consume_batch(msgs, model=self.message_cls, consumer=self.durable, js=js, handle=self.handle)
        self._idle.set()

    async def drain(self) -> None:
        """Stop fetching; the batch in hand is finished (and acked) before this returns."""
        self._running = False
        await self._idle.wait()
