"""NATS JetStream plumbing: broker, streams, batch consumption with inbox semantics and dead letters."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import structlog
from faststream.nats import NatsBroker
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError, NotFoundError
from prometheus_client import Counter
from pydantic import BaseModel, ValidationError

from contracts.base import Request
from contracts.subjects import ALL_STREAMS, StreamSpec, dlq_subject
from runtime import nats_connect
from runtime.settings import ServiceSettings

log = structlog.get_logger(__name__)

MAX_DELIVER = 5
REDELIVERY_DELAYS_S = (0.5, 2, 10, 30)

DEAD_LETTERS = Counter("messages_dead_lettered_total", "Messages moved to the DLQ", ["consumer"])
CONSUMED = Counter("messages_consumed_total", "Messages consumed", ["consumer"])

M = TypeVar("M", bound=BaseModel)


def make_broker(settings: ServiceSettings, *, name: str, **options: Any) -> NatsBroker:
    """Credentials, TLS and the private inbox come from the settings (`runtime.nats_connect`)."""
    return NatsBroker(
        settings.nats_servers,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        connect_timeout=5,
        logger=None,
        **{**nats_connect.broker_options(settings), **options},
    )


async def ensure_streams(js, *, replicas: int = 1, specs: Sequence[StreamSpec] = ALL_STREAMS) -> None:
    """Declare every stream (idempotent). Services own nothing here: all declare the same set."""
    for spec in specs:
        config = StreamConfig(
            name=spec.name,
            subjects=list(spec.subjects),
            max_age=spec.max_age_s,
            duplicate_window=spec.duplicate_window_s,
            num_replicas=replicas,
        )
        try:
            await js.stream_info(spec.name)
        except NotFoundError:
            try:
                await js.add_stream(config)
            except BadRequestError as exc:  # a concurrent replica created it first
                log.info("stream.exists", stream=spec.name, detail=str(exc))
            continue
        await js.update_stream(config)


async def dead_letter(js, *, consumer: str, msg, error: str) -> None:
    """Keep the message with its error in the DLQ stream: visible, never redelivered forever."""
    meta = getattr(msg, "metadata", None)
    body = {
        "consumer": consumer,
        "subject": msg.subject,
        "error": error[:2000],
        "data": msg.data.decode("utf-8", errors="replace"),
        "num_delivered": getattr(meta, "num_delivered", None),
        "stream_sequence": getattr(getattr(meta, "sequence", None), "stream", None),
    }
    await js.publish(dlq_subject(consumer), json.dumps(body).encode())
    DEAD_LETTERS.labels(consumer).inc()
    log.error("message.dead_lettered", consumer=consumer, subject=msg.subject, error=error[:300])


def _delivered(msg) -> int:
    try:
        return msg.metadata.num_delivered
    except Exception:  # core NATS message without JetStream metadata
        return 1


async def consume_batch(
    raws: Sequence,
    *,
    model: type[M],
    consumer: str,
    js,
    handle: Callable[[list[M]], Awaitable[None]],
) -> None:
    """Parse, handle as one batch, ack. Unparseable messages are dead-lettered at once; when the
    batch fails, each message is retried alone so one poison message cannot block the others."""
    parsed: list[tuple[M, Any]] = []
    for raw in raws:
        try:
            parsed.append((model.model_validate_json(raw.data), raw))
        except ValidationError as exc:
            await dead_letter(js, consumer=consumer, msg=raw, error=f"invalid message: {exc}")
            await raw.ack()
    if not parsed:
        return
    try:
        await handle([item for item, _ in parsed])
    except Exception as exc:
        log.warning("batch.failed", consumer=consumer, size=len(parsed), error=repr(exc))
        for item, raw in parsed:
            await _handle_one(item, raw, consumer=consumer, js=js, handle=handle)
        return
    for _, raw in parsed:
        await raw.ack()
    CONSUMED.labels(consumer).inc(len(parsed))


async def _handle_one(item, raw, *, consumer: str, js, handle) -> None:
    try:
        await handle([item])
    except Exception as exc:
        delivered = _delivered(raw)
        if delivered >= MAX_DELIVER:
            await dead_letter(js, consumer=consumer, msg=raw, error=repr(exc))
            await raw.term()
        else:
            delay = REDELIVERY_DELAYS_S[min(delivered - 1, len(REDELIVERY_DELAYS_S) - 1)]
            await raw.nak(delay=delay)
        return
    await raw.ack()
    CONSUMED.labels(consumer).inc()


class RequestFailed(Exception):
    """The owning service did not answer in time (→ 503 at the gateway)."""


class ServiceError(Exception):
    """The owning service refused: `code` is one of API.md's error codes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def error_reply(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


async def request(nc, req: Request, *, timeout: float = 5.0) -> Any:
    """Ask the owning service; answers its reply model, raises ServiceError or RequestFailed."""
    try:
        msg = await nc.request(req.subject, req.model_dump_json().encode(), timeout=timeout)
    except (NatsTimeoutError, TimeoutError) as exc:
        raise RequestFailed(f"{req.subject} timed out after {timeout}s") from exc
    except Exception as exc:  # no responders, connection closed
        raise RequestFailed(f"{req.subject}: {exc}") from exc
    data = json.loads(msg.data)
    if isinstance(data, dict) and data.get("error"):
        err = data["error"]
        raise ServiceError(err.get("code", "unavailable"), err.get("message", ""))
    reply_model = type(req).reply_model
    return data if reply_model is None else reply_model.model_validate(data)
