"""CloudEvents 1.0 in structured mode → `usage.recorded.v1` records (API.md, "Usage and reservations over HTTP").

One event (`application/cloudevents+json`, a JSON object) or a batch (`application/cloudevents-batch+json`,
a JSON array of at most `MAX_EVENTS`). Every event of a request is checked before any is accepted, and
the refusal names each invalid event by its index. The limits of `id`, `subject` and `data` are those
of `UsageRecorded` itself, so what passes here is exactly what billing takes from NATS; types are
strict (integer cents, no "12" for 12, RFC 3339 times with an offset).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError

from contracts.usage.v1 import UsageRecorded
from services.gateway.api.schemas import Strict

SINGLE = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
MAX_EVENTS = 1000
MAX_BODY_BYTES = 1 << 20  # 1 MiB (API.md); more is refused with 413 before it is read
MAX_DETAILS = 50  # errors described in full; the indexes of further invalid events are still all named
_USAGE = UsageRecorded.model_fields


class InvalidEvents(ValueError):
    """The request is refused whole (400 `validation_error`); the message says which events and why."""


class UnsupportedMediaType(ValueError):
    """Neither of the two structured-mode content types (binary mode is not supported): 415."""


def _text(value: Any) -> Any:
    if not isinstance(value, str):  # a number would pass as a Unix time otherwise
        raise ValueError("must be an RFC 3339 timestamp string")
    return value


Rfc3339 = Annotated[AwareDatetime, BeforeValidator(_text), Field(strict=False)]


class UsageData(Strict):
    amount_cents: int = _USAGE["amount_cents"]
    quantity: float = _USAGE["quantity"]
    unit: str = _USAGE["unit"]
    description: str = _USAGE["description"]


class CloudEvent(Strict):
    model_config = ConfigDict(extra="allow")  # CloudEvents extension attributes are the producer's own

    specversion: Literal["1.0"]
    id: str = _USAGE["id"]
    source: str = Field(min_length=1, max_length=500)
    type: Literal["usage.recorded"]
    subject: str = _USAGE["tenant_id"]
    time: Rfc3339
    datacontenttype: Literal["application/json"] | None = None
    data: UsageData

    def record(self) -> UsageRecorded:
        return UsageRecorded(id=self.id, tenant_id=self.subject, occurred_at=self.time, **self.data.model_dump())


_EVENTS = TypeAdapter(list[CloudEvent])
EXAMPLE = {
    "specversion": "1.0",
    "id": "call-7f3a9c-minute-12",
    "source": "/calls/eu-central-1",
    "type": "usage.recorded",
    "subject": "ten_3b1f0c2a9d8e4f56a7b8",
    "time": "2026-11-26T10:00:00Z",
    "data": {"amount_cents": 12, "quantity": 1, "unit": "minute", "description": "Call +49 30 1234567"},
}


def usage_records(body: bytes, *, content_type: str) -> list[UsageRecorded]:
    """The records of a request body, or InvalidEvents / UnsupportedMediaType; nothing half."""
    media = content_type.split(";")[0].strip().lower()
    if media not in (SINGLE, BATCH):
        raise UnsupportedMediaType(f"send {SINGLE} (one event) or {BATCH} (an array of events)")
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEvents(f"the body is not JSON: {exc}") from None
    events = _events(parsed, batch=media == BATCH)
    try:
        return [event.record() for event in _EVENTS.validate_python(events)]
    except ValidationError as exc:
        raise InvalidEvents(_described(exc, single=media == SINGLE)) from None


def _events(parsed: Any, *, batch: bool) -> list:
    if batch and not isinstance(parsed, list):
        raise InvalidEvents(f"{BATCH} is a JSON array of events")
    if not batch and not isinstance(parsed, dict):
        raise InvalidEvents(f"{SINGLE} is one event, a JSON object; send arrays as {BATCH}")
    if batch and len(parsed) > MAX_EVENTS:
        raise InvalidEvents(f"{len(parsed)} events in one request: at most {MAX_EVENTS}")
    return parsed if batch else [parsed]


def _described(exc: ValidationError, *, single: bool) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    invalid = sorted({error["loc"][0] for error in errors})
    details = [_detail(error) for error in errors[:MAX_DETAILS]]
    undescribed = [i for i in invalid if i not in {error["loc"][0] for error in errors[:MAX_DETAILS]}]
    if undescribed:
        details.append("also invalid: " + ", ".join(f"event {i}" for i in undescribed))
    noun = "the event is" if single else f"{len(invalid)} of the events are"
    return f"{noun} invalid, none was accepted: " + "; ".join(details)


def _detail(error: dict) -> str:
    index, *where = error["loc"]
    field = ".".join(str(part) for part in where)
    return f"event {index}: {field}: {error['msg']}" if field else f"event {index}: {error['msg']}"
