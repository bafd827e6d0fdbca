"""What happens to a fetched batch: handled and acknowledged, retried, or dead-lettered — by the kind
of failure (`runtime.failures`), never by a retry budget for what can pass.

* Success: every message is acknowledged.
* Infrastructure failure (database, NATS, Stripe away): the whole batch is handed back with a delay
  (`nak(delay)`), and the consumer pauses as long before fetching again, so an outage costs one probe
  per pause instead of a storm of failing transactions. The pause doubles up to `PAUSE_MAX_S`, so the
  stream resumes within seconds of the dependency's return.
* Any other failure of a batch: each message is handled alone, so one bad message cannot block the
  others. Alone, a message that waits for a prerequisite (`PrerequisiteMissing`) is handed back with
  its own growing delay (`nak(delay)` — the rest of the stream flows on meanwhile); a permanent one is
  dead-lettered at once; an unexpected one is retried `UNEXPECTED_ATTEMPTS` times, then dead-lettered.
* Dead-lettering publishes the message with its error to `dlq.<durable>` (deduplicated per stream
  sequence) and only then terminates it; if the DLQ is unreachable the message is handed back instead.

Messages waiting on a transient cause show in `messages_retrying{consumer}` and the age of the
oldest in `messages_retry_oldest_seconds{consumer}`; every retry counts in `messages_retried_total`.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import structlog
from prometheus_client import Counter, Gauge
from pydantic import ValidationError

from contracts.base import Message
from contracts.subjects import dlq_subject
from runtime.dlq import replay_target
from runtime.failures import classify, is_message_specific

log = structlog.get_logger(__name__)
M = TypeVar("M", bound=Message)

UNEXPECTED_ATTEMPTS = 5  # deliveries of a message failing for an unclassified reason before the DLQ
MESSAGE_DELAYS_S = (0.5, 1, 2, 4, 8, 15, 30, 60)  # a message waiting on its prerequisite, by delivery
PAUSE_MIN_S, PAUSE_MAX_S = 0.5, 5.0  # the consumer's pause while a dependency is away
DLQ_PUBLISH_TIMEOUT_S = 5.0

DEAD_LETTERS = Counter("messages_dead_lettered_total", "Messages moved to the DLQ", ["consumer"])
CONSUMED = Counter("messages_consumed_total", "Messages consumed", ["consumer"])
RETRIED = Counter("messages_retried_total", "Deliveries handed back to be retried", ["consumer", "kind"])
RETRYING = Gauge("messages_retrying", "Messages waiting to be retried after a transient failure", ["consumer"])
OLDEST = Gauge("messages_retry_oldest_seconds", "Age of the oldest message waiting to be retried", ["consumer"])


class RetryState:
    """One consumer's messages in retry (by stream sequence) and its current pause."""

    STALE_S = 180.0  # not seen again for this long: another replica took it (or it was handled)

    def __init__(self, consumer: str) -> None:
        self.consumer = consumer
        self.pause_s = 0.0
        self._waiting: dict[int, tuple[float, float]] = {}  # seq → (stored at, last seen) in epoch seconds

    def waiting(self, raw, kind: str) -> None:
        seq, stored = _sequence(raw), _stored_at(raw)
        if seq is not None:
            self._waiting[seq] = (stored, time.time())
        RETRIED.labels(self.consumer, kind).inc()

    def done(self, raw) -> None:
        if not self._waiting:  # the usual case: nothing in retry, no JetStream metadata to parse
            return
        seq = _sequence(raw)
        if seq is not None:
            self._waiting.pop(seq, None)

    def next_pause(self) -> float:
        self.pause_s = PAUSE_MIN_S if self.pause_s == 0 else min(self.pause_s * 2, PAUSE_MAX_S)
        return self.pause_s

    def healthy(self) -> None:
        self.pause_s = 0.0

    def publish_metrics(self) -> None:
        now = time.time()
        for seq in [s for s, (_, seen) in self._waiting.items() if now - seen > self.STALE_S]:
            del self._waiting[seq]
        RETRYING.labels(self.consumer).set(len(self._waiting))
        oldest = min((stored for stored, _ in self._waiting.values()), default=None)
        OLDEST.labels(self.consumer).set(0 if oldest is None else max(0.0, now - oldest))


async def consume_batch(
    raws: Sequence,
    *,
    model: type[M],
    consumer: str,
    js,
    retries: RetryState,
    handle: Callable[[list[M]], Awaitable[None]],
) -> float:
    """Handle one fetched batch; answer how long the consumer should pause before fetching again."""
    parsed: list[tuple[M, Any]] = []
    for raw in raws:
        target = replay_target(raw)
        if target is not None and target != consumer:  # a dead letter replayed for another consumer
            await _ack(raw)
            continue
        try:
            parsed.append((model.from_wire(raw.data), raw))
        except ValidationError as exc:
            await _dead_letter(js, consumer=consumer, raw=raw, error=f"invalid message: {exc}")
    if not parsed:
        retries.publish_metrics()
        return 0.0
    try:
        await handle([item for item, _ in parsed])
    except Exception as exc:
        pause = await _after_batch_failure(parsed, exc, consumer=consumer, js=js, retries=retries, handle=handle)
    else:
        await _ack_all([raw for _, raw in parsed])
        for _, raw in parsed:
            retries.done(raw)
        CONSUMED.labels(consumer).inc(len(parsed))
        retries.healthy()
        pause = 0.0
    retries.publish_metrics()
    return pause


async def _after_batch_failure(parsed, exc: Exception, *, consumer: str, js, retries: RetryState, handle) -> float:
    if _waits_for_infrastructure(exc):
        return await _hand_back(parsed, exc, consumer=consumer, retries=retries)
    if len(parsed) > 1:
        log.warning("batch.failed", consumer=consumer, size=len(parsed), error=repr(exc))
    for index, (item, raw) in enumerate(parsed):
        try:
            await handle([item])
        except Exception as one_exc:
            if _waits_for_infrastructure(one_exc):  # the dependency went away meanwhile: all wait
                return await _hand_back(parsed[index:], one_exc, consumer=consumer, retries=retries)
            await _after_message_failure(raw, one_exc, consumer=consumer, js=js, retries=retries)
            continue
        await _ack(raw)
        retries.done(raw)
        CONSUMED.labels(consumer).inc()
    return 0.0


def _waits_for_infrastructure(exc: BaseException) -> bool:
    return classify(exc) == "transient" and not is_message_specific(exc)


async def _hand_back(parsed, exc: BaseException, *, consumer: str, retries: RetryState) -> float:
    pause = retries.next_pause()
    for _, raw in parsed:
        await _nak(raw, pause)
        retries.waiting(raw, "transient")
    log.warning("batch.retrying", consumer=consumer, size=len(parsed), retry_in_s=pause, error=repr(exc)[:300])
    return pause


async def _after_message_failure(raw, exc: BaseException, *, consumer: str, js, retries: RetryState) -> None:
    kind, delivered = classify(exc), _delivered(raw)
    if kind == "permanent" or (kind == "unexpected" and delivered >= UNEXPECTED_ATTEMPTS):
        await _dead_letter(js, consumer=consumer, raw=raw, error=repr(exc))
        retries.done(raw)
        return
    delay = MESSAGE_DELAYS_S[min(delivered, len(MESSAGE_DELAYS_S)) - 1]
    await _nak(raw, delay)
    retries.waiting(raw, kind)
    log_event = log.info if kind == "transient" else log.warning
    log_event(
        "message.retrying",
        consumer=consumer,
        subject=raw.subject,
        attempt=delivered,
        retry_in_s=delay,
        kind=kind,
        error=repr(exc)[:300],
    )


async def _dead_letter(js, *, consumer: str, raw, error: str) -> None:
    """Keep the message with its error in the DLQ, then terminate it; if the DLQ cannot take it now,
    hand it back (it is dead-lettered on a later delivery), never drop it."""
    meta = getattr(raw, "metadata", None)
    seq = _sequence(raw)
    body = {
        "consumer": consumer,
        "subject": raw.subject,
        "error": error[:2000],
        "data": raw.data.decode("utf-8", errors="replace"),
        "headers": dict(getattr(raw, "headers", None) or {}),
        "num_delivered": getattr(meta, "num_delivered", None),
        "stream_sequence": seq,
    }
    try:
        await js.publish(
            dlq_subject(consumer),
            json.dumps(body).encode(),
            timeout=DLQ_PUBLISH_TIMEOUT_S,
            headers={"Nats-Msg-Id": f"dlq-{consumer}-{seq}"} if seq is not None else None,
        )
    except Exception as exc:
        log.warning("message.dead_letter_failed", consumer=consumer, subject=raw.subject, error=repr(exc))
        await _nak(raw, PAUSE_MAX_S)
        return
    await _term(raw)
    DEAD_LETTERS.labels(consumer).inc()
    log.error("message.dead_lettered", consumer=consumer, subject=raw.subject, error=error[:300])


def _delivered(raw) -> int:
    try:
        return int(raw.metadata.num_delivered)
    except Exception:  # core NATS message without JetStream metadata
        return 1


def _sequence(raw) -> int | None:
    try:
        return int(raw.metadata.sequence.stream)
    except Exception:
        return None


def _stored_at(raw) -> float:
    try:
        return raw.metadata.timestamp.timestamp()
    except Exception:
        return time.time()


# An acknowledgement that cannot be sent (NATS reconnecting, a stream leader election) only means
# the message comes back after ack_wait, and the inbox makes that harmless: never let it end the loop.
async def _ack(raw) -> None:
    with contextlib.suppress(Exception):
        await raw.ack()


async def _ack_all(raws: list) -> None:
    """Acknowledge a handled batch: its acks go out as one write (what `msg.ack()` sends for each, an
    empty message to its `$JS.ACK` reply subject) instead of one validated publish per message. While
    the connection is not up, each message is acknowledged (or not) as `_ack` does it."""
    nc = getattr(raws[0], "_client", None) if raws else None
    if nc is None or not nc.is_connected or any(not r.reply for r in raws):
        for raw in raws:
            await _ack(raw)
        return
    with contextlib.suppress(Exception):
        await nc._send_command(b"".join(b"PUB %s 0\r\n\r\n" % r.reply.encode() for r in raws))
        await nc._flush_pending()
        for raw in raws:
            raw._ackd = True


async def _nak(raw, delay: float) -> None:
    with contextlib.suppress(Exception):
        await raw.nak(delay=delay)


async def _term(raw) -> None:
    with contextlib.suppress(Exception):
        await raw.term()
