"""Customer-visible events (API.md "Server-Sent Events"), published as `portal.<type>.v1`.

The envelope is fixed by API.md: `{id, type, tenant_id, occurred_at, data}`. The gateway streams
them over SSE, notify turns them into emails, SMS, pushes and webhooks. The types, their data models
and who produces them are the catalogue's (`contracts.portal.catalog`).
"""

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, Field, ValidationInfo, model_validator

from contracts.base import Message, new_id, utcnow
from contracts.portal.catalog import CATALOG, EVENT_TYPES, EventType, producers
from contracts.subjects import PORTAL, portal_subject

__all__ = ["DATA_MODELS", "EVENT_TYPES", "PRODUCERS", "EventType", "PortalEvent"]

# Which service publishes each type: its NATS user may publish `portal.<type>.v1` and no other.
PRODUCERS: dict[str, str] = {event_type: service for event_type, service in producers().items()}
DATA_MODELS = {t: spec.data for t, spec in CATALOG.items()}


class PortalEvent(Message):
    subject: ClassVar[str] = "portal.*.v1"
    stream: ClassVar[str | None] = PORTAL.name
    durables: ClassVar = ("notify-portal",)

    id: str = Field(default_factory=lambda: new_id("evt_"))
    type: EventType
    tenant_id: str
    occurred_at: datetime = Field(default_factory=utcnow)
    data: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _data_matches_its_type(cls, values: Any, info: ValidationInfo) -> Any:
        """Built by a producer: `data` must be its type's model (or a dict that validates as one, with
        no undocumented field). Read from the wire (`from_wire`) it is taken as it came, so a field
        added later never breaks an older reader."""
        if (info.context or {}).get("from_wire") or not isinstance(values, dict):
            return values
        return {**values, "data": checked_data(values.get("type"), values.get("data", {}))}

    @property
    def event_id(self) -> str:
        return self.id

    def subject_for(self) -> str:
        return portal_subject(self.type)


def checked_data(event_type: Any, data: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """`data` validated against the catalogue's model of `event_type`, as the JSON it is sent as."""
    spec = CATALOG.get(event_type)
    if spec is None:  # an unknown type: the envelope's own validation refuses it
        return data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    model = (
        data
        if isinstance(data, spec.data)
        else spec.data.model_validate(data.model_dump() if isinstance(data, BaseModel) else data)
    )
    return model.model_dump(mode="json", exclude_unset=True)
