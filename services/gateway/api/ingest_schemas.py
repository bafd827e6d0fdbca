"""Bodies of the platform routes (API.md, "Usage and reservations over HTTP"): platform keys, ingestion,
reservations, and the OpenAPI description of the CloudEvents body the events route reads by hand."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from contracts.billing.v1 import Reserve
from contracts.usage.v1 import UsageRecorded
from services.gateway.api import cloudevents
from services.gateway.api.schemas import ApiKeyItem, NoControlCharacters, Strict


class PlatformKeyIn(Strict):
    name: str = Field(min_length=1, max_length=200)


class PlatformKeyCreated(BaseModel):
    key: str
    prefix: str


class PlatformKeyItem(ApiKeyItem):
    name: str


class PlatformKeyList(BaseModel):
    items: list[PlatformKeyItem]


class EventsAccepted(BaseModel):
    accepted: int


class ReserveIn(NoControlCharacters, Reserve):
    """`billing.reserve.v1` itself, minus what billing cannot store."""


class UsageIn(NoControlCharacters, UsageRecorded):
    pass


class SettleIn(NoControlCharacters):
    model_config = ConfigDict(extra="forbid")
    usage: UsageIn


# A reservation id in the path, with no control characters (`%00` included) to pass on.
ReservationId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$")]


def _inlined(schema: dict) -> dict:
    """`schema` with its `$defs` references replaced by the definitions (a request body stands alone)."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[1]])
            return {key: resolve(value) for key, value in node.items()}
        return [resolve(value) for value in node] if isinstance(node, list) else node

    return resolve(schema)


def events_request_body() -> dict:
    """One event or a batch, each media type with its schema and a CloudEvents example."""
    event = _inlined(cloudevents.CloudEvent.model_json_schema())
    batch = {"type": "array", "items": event, "maxItems": cloudevents.MAX_EVENTS}
    return {
        "required": True,
        "description": "CloudEvents 1.0, structured mode; at most 1 MiB",
        "content": {
            cloudevents.SINGLE: {"schema": event, "example": cloudevents.EXAMPLE},
            cloudevents.BATCH: {"schema": batch, "example": [cloudevents.EXAMPLE]},
        },
    }
