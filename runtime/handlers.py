"""Thin wiring between faststream subscribers and use cases, with explicit ack policies.

* `rpc`: core NATS request/reply in a queue group (replicas share the load); validation and
  refusals become `{"error": {code, message}}` replies, never a silent timeout.
* `batch_consumer`: a durable JetStream pull consumer taking batches (`runtime.consumers`).
* `event_consumer`: the same with small batches, for low-volume events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from faststream.nats import NatsBroker, NatsMessage
from nats.js.api import DeliverPolicy
from pydantic import BaseModel, ValidationError

from contracts.base import Message, Request
from runtime.consumers import PullConsumer
from runtime.messaging import ServiceError, error_reply
from runtime.refusals import Refusal
from runtime.retries import RetryState

log = structlog.get_logger(__name__)


def rpc(broker: NatsBroker, request_cls: type[Request], *, queue: str, max_workers: int = 16):
    """Requests are answered concurrently (up to `max_workers` per subject and process)."""

    def decorate(fn: Callable[[Request], Awaitable[BaseModel | dict]]):
        @broker.subscriber(
            request_cls.subject,
            queue=queue,
            title=f"{request_cls.subject}:{queue}",
            max_workers=max_workers,
            decoder=_raw_body,
        )
        async def handle(body: bytes) -> dict:
            try:
                req = request_cls.model_validate_json(body)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ()))
                return error_reply("validation_error", f"{where}: {first.get('msg')}".strip(": "))
            try:
                result = await fn(req)
            except ServiceError as exc:
                return error_reply(exc.code, exc.message)
            except Refusal as exc:  # a use case's refusal: translated here, at the entry point, only
                return error_reply(exc.code, exc.message)
            except Exception as exc:
                log.exception("rpc.failed", subject=request_cls.subject, error=repr(exc))
                return error_reply("internal_error", "the service failed to answer")
            return result.model_dump(mode="json") if isinstance(result, BaseModel) else result

        return handle

    return decorate


async def _raw_body(msg: NatsMessage) -> bytes:
    """The request as it came: `rpc` validates it against its contract itself."""
    return msg.body


def batch_consumer(
    consumers: list,
    message_cls: type[Message],
    *,
    durable: str,
    batch_size: int = 500,
    subject: str | None = None,
    deliver_policy: DeliverPolicy = DeliverPolicy.ALL,
    parallel: int = 1,
):
    """Register a durable pull consumer taking batches of up to `batch_size`.

    `parallel` > 1: that many loops on the durable in this process, as replicas would be, so that one
    batch's database round trips overlap the next batch's work (each batch is still one transaction,
    and the use case must be safe for concurrent batches, as it must be for replicas)."""

    def decorate(fn: Callable[[list], Awaitable[None]]):
        retries = RetryState(durable)  # one per durable and process: its loops report one set of retries
        for _ in range(parallel):
            consumer = PullConsumer(
                message_cls, durable, fn, batch_size=batch_size, subject=subject, deliver_policy=deliver_policy
            )
            consumer._retries = retries
            consumers.append(consumer)
        return fn

    return decorate


def event_consumer(consumers: list, message_cls: type[Message], *, durable: str, **kw):
    """Low-volume events through the same path (parse errors dead-lettered, failures retried)."""
    return batch_consumer(consumers, message_cls, durable=durable, batch_size=kw.pop("batch_size", 20), **kw)
