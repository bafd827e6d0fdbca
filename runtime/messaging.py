"""NATS plumbing: the broker, the streams, request/reply and its errors (consuming: runtime.consumers)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import structlog
from faststream.nats import NatsBroker
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from contracts.base import Request
from contracts.subjects import ALL_STREAMS, StreamSpec
from runtime import nats_connect
from runtime.failures import Transient
from runtime.settings import ServiceSettings

log = structlog.get_logger(__name__)


def make_broker(settings: ServiceSettings, *, name: str, **options: Any) -> NatsBroker:
    """Credentials, TLS and the private inbox come from the settings (`runtime.nats_connect`)."""
    return NatsBroker(
        settings.nats_servers,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        connect_timeout=5,
        logger=None,
        # The only subscribers are `runtime.handlers.rpc`, which take the raw body: no dependency
        # injection per request (FastDepends ran a task group and a worker thread for each).
        apply_types=False,
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


class RequestFailed(Transient):
    """The owning service did not answer in time (→ 503 at the gateway; a consumer retries)."""


class ServiceError(Exception):
    """The owning service refused: `code` is one of API.md's error codes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ServiceUnavailable(ServiceError, Transient):
    """The owning service answered that it cannot serve right now (`unavailable`): worth retrying."""


def error_reply(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


async def answer(nc, req: Request, *, timeout: float = 5.0) -> Any:
    """Ask the owning service; its answer as it came (parsed JSON, refusals included), or RequestFailed."""
    try:
        msg = await nc.request(req.subject, req.model_dump_json().encode(), timeout=timeout)
    except (NatsTimeoutError, TimeoutError) as exc:
        raise RequestFailed(f"{req.subject} timed out after {timeout}s") from exc
    except Exception as exc:  # no responders, connection closed
        raise RequestFailed(f"{req.subject}: {exc}") from exc
    return json.loads(msg.data)


def raise_refusal(data: Any) -> None:
    """An answer `{"error": {code, message}}` as ServiceError (ServiceUnavailable for `unavailable`)."""
    if isinstance(data, dict) and data.get("error"):
        err = data["error"]
        code = err.get("code", "unavailable")
        raise (ServiceUnavailable if code == "unavailable" else ServiceError)(code, err.get("message", ""))


async def request(nc, req: Request, *, timeout: float = 5.0) -> Any:
    """Ask the owning service; answers its reply model, raises ServiceError or RequestFailed."""
    data = await answer(nc, req, timeout=timeout)
    raise_refusal(data)
    reply_model = type(req).reply_model
    return data if reply_model is None else reply_model.model_validate(data)
