"""Durable JetStream pull consumers with batches, inbox semantics (in the handler), retries by kind of
failure and dead letters (`runtime.retries`), supervised so that a consumer never dies silently.

Replicas bind to the same durable name and share its messages. A batch is a long poll for one
message, which returns the moment one is there, then a fetch of as many more as JetStream says are
waiting (the first message's `num_pending`), up to the batch size: batching costs no latency at low
volume, and a burst is taken in full batches.

**Supervision.** `run()` restarts its loop whenever it ends or raises unexpectedly (the durable could
not be created because NATS or the stream is not there yet, an error escaped a batch), with a
growing pause, logs it and counts it (`consumer_restarts_total`); while the loop is down, `healthy` is
False and the service's `/readyz` answers 503.

**Delivery policy.** `max_deliver` is unlimited: what can pass is retried until it succeeds, and the
few failures that get a retry budget (unexpected errors) are dead-lettered by `runtime.retries`
itself. The durable's configuration is created *or updated* at every start, so a consumer that
existed with an older policy takes the new one.

`drain()` (SIGTERM) stops fetching. A long poll is woken, not cancelled, and returns whatever it
took; the batch in hand is finished and acknowledged; messages delivered but not yet handled are
nak'ed (another replica takes them at once instead of after `ack_wait`); the subscription is removed,
so closing the connection does not wait on it. (The poll is our own, not `psub.fetch(1)`: that waits
with `asyncio.wait_for`, which in Python 3.11 loses the message its `queue.get()` took when it is
cancelled in the same moment — a message then held by nobody until `ack_wait`. Two usage loops made
that moment common: one polls while the other works through a backlog.)

`ack_wait` is short (ACK_WAIT_S), so the batch of a replica that died unannounced (SIGKILL, node
loss) is redelivered to the others within seconds. A batch that takes longer than a third of it
(a slow renderer, a retry of each message alone) tells JetStream it is still being worked on
(`+WPI`) until it is acknowledged, so a slow batch is never handed to a second replica meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import APIError, NotFoundError, ServiceUnavailableError
from prometheus_client import Counter

from contracts.base import Message
from runtime.aio import wait_set
from runtime.retries import RetryState, consume_batch

log = structlog.get_logger(__name__)
ACK_WAIT_S = 10.0
RESTART_DELAYS_S = (0.5, 1, 2, 5, 10, 30)


class ConsumerGone(Exception):
    """The durable or its stream no longer exists at the server."""


RESTARTS = Counter("consumer_restarts_total", "Consumer loops restarted after ending unexpectedly", ["consumer"])


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
    ack_wait_s: float = ACK_WAIT_S
    healthy: bool = field(default=False, init=False)
    _running: bool = field(default=False, init=False)
    _started: bool = field(default=False, init=False)
    _draining: bool = field(default=False, init=False)
    _stopped: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)  # set by drain()
    _retries: RetryState | None = field(default=None, init=False)
    _js: JetStreamContext | None = field(default=None, init=False)

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            name=self.durable,  # created through CONSUMER.CREATE.<stream>.<durable>.<filter> (least privilege)
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_s,
            max_deliver=-1,
            deliver_policy=self.deliver_policy,
            max_ack_pending=max(self.batch_size * 4, 1000),
            filter_subject=self.subject or self.message_cls.subject,
        )

    @property
    def stream(self) -> str:
        if self.message_cls.stream is None:
            raise TypeError(f"{self.message_cls.__name__} is not carried by a stream")
        return self.message_cls.stream

    async def run(self, js) -> None:
        """Consume until drained, restarting the loop whenever it ends unexpectedly."""
        if self._draining:
            return
        self._started = self._running = True
        self._retries = self._retries or RetryState(self.durable)
        failures = 0
        try:
            while self._running:
                try:
                    await self._consume(js)
                    if not self._running:
                        break
                    raise RuntimeError("the consumer loop ended")
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self.healthy = False
                    delay = RESTART_DELAYS_S[min(failures, len(RESTART_DELAYS_S) - 1)]
                    failures += 1
                    RESTARTS.labels(self.durable).inc()
                    log.error("consumer.restarting", durable=self.durable, error=repr(exc), restart_in_s=delay)
                    await self._pause(delay)
        finally:
            self.healthy = False
            self._stopped.set()

    async def _consume(self, js) -> None:
        self._js = js
        await js.add_consumer(self.stream, self.config())  # create, or update an older policy
        psub = await js.pull_subscribe_bind(durable=self.durable, stream=self.stream)
        retries = self._retries
        assert retries is not None, "start() sets up the retry state"
        self.healthy = True
        try:
            while self._running:
                msgs = await self._next_batch(psub)
                if not msgs:
                    continue
                async with _working_on(msgs, every_s=self.ack_wait_s / 3):
                    pause = await consume_batch(
                        msgs, model=self.message_cls, consumer=self.durable, js=js, retries=retries, handle=self.handle
                    )
                if pause:
                    await self._pause(pause)
        finally:
            await self._release(psub)

    async def _pause(self, seconds: float) -> None:
        """Wait, unless drain() comes first."""
        if self._running:
            self._wake.clear()
            await wait_set(self._wake, seconds)

    async def _next_batch(self, psub) -> list:
        """Long poll for the first message, then what is waiting behind it ([] on timeout or drain)."""
        try:
            first = await self._poll_first(psub)
        except Exception as exc:  # reconnecting, no stream leader (failover), connection closed, deleted
            if self._running:
                log.warning("consumer.fetch_failed", durable=self.durable, error=repr(exc))
                await self._check_still_there(exc)
                await self._pause(0.5)
            return []
        if first is None:
            return []
        more = min(_pending_after(first), self.batch_size - 1)
        if more <= 0 or not self._running:
            return [first]
        try:
            return [first, *await _gather(psub, more, timeout=self.gather_s)]
        except Exception:  # taken by another replica meanwhile, or a hiccup: handle what we have
            return [first]

    async def _poll_first(self, psub):
        """`psub.fetch(1, timeout=fetch_timeout_s)`, less its `wait_for` (module docstring): one pull
        request for one message, then a wait on the subscription's queue that drain() wakes. Answers the
        message, or None on expiry or drain; a JetStream error status raises as fetch raises it."""
        sub = psub._sub
        queue: asyncio.Queue = sub._pending_queue
        loop = asyncio.get_running_loop()
        while not queue.empty():  # as fetch: a message left over comes first, a late status is stale
            msg = queue.get_nowait()
            sub._pending_size -= len(msg.data)
            queue.task_done()
            if JetStreamContext.is_status_msg(msg) is None:
                return msg
        expires = int(self.fetch_timeout_s * 1e9) - 100_000
        await sub._conn.publish(psub._nms, json.dumps({"batch": 1, "expires": expires}).encode(), psub._deliver)
        deadline = loop.time() + self.fetch_timeout_s
        while True:
            if queue.empty():
                remaining = deadline - loop.time()
                if remaining <= 0 or not self._running:
                    return None
                msg = await _get_unless(queue, self._wake, timeout=remaining)
                if msg is None:
                    continue
            else:
                msg = queue.get_nowait()
            sub._pending_size -= len(msg.data)
            queue.task_done()
            status = JetStreamContext.is_status_msg(msg)
            if status is None:
                return msg
            if JetStreamContext._is_heartbeat(status):
                continue
            if JetStreamContext._is_temporary_error(status):  # 404 no messages, 408 expired, 409
                return None
            raise APIError.from_msg(msg)

    async def _check_still_there(self, exc: Exception) -> None:
        """Nobody answering for the durable is a failover — or the durable (or its stream) is gone, and
        then only a restart brings it back: raise, so the supervisor recreates it."""
        if not isinstance(exc, ServiceUnavailableError) or self._js is None:
            return
        try:
            await self._js.consumer_info(self.stream, self.durable)
        except NotFoundError as gone:
            raise ConsumerGone(f"{self.stream}/{self.durable}: {gone.description}") from exc
        except Exception:  # cannot tell right now (NATS away, an election): keep polling
            return

    async def _release(self, psub) -> None:
        """Stop deliveries, nak messages delivered but never handled (redelivered at once), unsubscribe.

        The cancelled long poll is still open at the server and may deliver a message at any moment:
        interest in the inbox is withdrawn first (UNSUB), then a round trip makes sure whatever was
        sent before it has arrived, and only then is the queue nak'ed and the subscription removed.
        """
        sub = getattr(psub, "_sub", None)
        queue = getattr(sub, "_pending_queue", None)
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub._conn._send_unsubscribe(sub._id)
                await sub._conn.flush(timeout=2)
        handed_back = 0
        while queue is not None and not queue.empty():
            msg = queue.get_nowait()
            if (msg.reply or "").startswith("$JS.ACK"):
                with contextlib.suppress(Exception):
                    await msg.nak()
                    handed_back += 1
        with contextlib.suppress(Exception):
            await psub.unsubscribe()
        if handed_back:
            log.info("consumer.released", durable=self.durable, handed_back=handed_back)

    async def drain(self) -> None:
        """Stop fetching; the batch in hand is finished (and acked) before this returns."""
        self._draining, self._running = True, False
        self._wake.set()  # ends a pause and a long poll
        if self._started:
            await self._stopped.wait()


@contextlib.asynccontextmanager
async def _working_on(msgs: list, *, every_s: float):
    """While the block runs, mark the batch's unacknowledged messages in progress every `every_s`."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(every_s)
            for msg in msgs:
                if not getattr(msg, "_ackd", False):
                    with contextlib.suppress(Exception):
                        await msg.in_progress()

    task = asyncio.create_task(beat(), name="consumer-in-progress")
    try:
        yield
    finally:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():  # we are being cancelled too: do not swallow it
                raise


async def _get_unless(queue: asyncio.Queue, stop: asyncio.Event, *, timeout: float):
    """The queue's next item, or None when `stop` is set or the timeout passes first. Never loses an
    item: a `get()` cancelled before it completed leaves the item in the queue, and one that completed
    is answered — also when this wait itself is cancelled (the item goes back into the queue)."""
    getter = asyncio.ensure_future(queue.get())
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((getter, stopper), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        if getter.done() and not getter.cancelled():
            queue.put_nowait(getter.result())  # _release hands it back
        raise
    finally:
        stopper.cancel()
        if not getter.done():
            getter.cancel()
    if getter.done() and not getter.cancelled():
        return getter.result()
    return None


async def _gather(psub, batch: int, *, timeout: float) -> list:
    """`psub.fetch(batch, timeout)` for what is already waiting (one no-wait pull request), without
    its per-message `next_msg` (a task, a `wait_for` and a uuid4 each: ~a tenth of billing's CPU per
    debit): messages are taken off the subscription's queue as they come, and the wait is timed only
    when the queue is empty. Ends at `batch` messages, the server's status (404 no more, 408, 409) or
    the timeout; a heartbeat is skipped."""
    sub = psub._sub
    queue: asyncio.Queue = sub._pending_queue
    await sub._conn.publish(psub._nms, json.dumps({"batch": batch, "no_wait": True}).encode(), psub._deliver)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    msgs: list = []
    while len(msgs) < batch:
        if queue.empty():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                async with asyncio.timeout(remaining):
                    msg = await queue.get()
            except TimeoutError:
                break
        else:
            msg = queue.get_nowait()
        sub._pending_size -= len(msg.data)
        queue.task_done()
        status = msg.headers.get("Status") if msg.headers else None
        if status is None:
            msgs.append(msg)
        elif status != "100":  # not a heartbeat: the server says this request is done
            break
    return msgs


def _pending_after(msg) -> int:
    try:
        return int(msg.metadata.num_pending or 0)
    except Exception:  # no JetStream metadata
        return 0
