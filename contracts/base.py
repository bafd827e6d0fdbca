"""Base classes for every message on the bus.

Events are facts (past tense), frozen, carry their own id for idempotency and their subject.
Adding an optional field keeps the version; renaming, removing or retyping needs a new `vN`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field

FROM_WIRE = {"from_wire": True}


def new_id(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Message(BaseModel):
    """Anything sent on NATS. `subject` is where it goes; `stream` the JetStream stream that keeps it.

    `durables` are the durable consumers that read it, named `<service>-<handler>`: each becomes
    that service's NATS permission to consume it (`runtime.nats_permissions`). A new consumer is
    one more name here, next to its `event_consumer(..., durable=...)` registration.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    subject: ClassVar[str] = ""
    stream: ClassVar[str | None] = None
    durables: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_wire(cls, raw: bytes | str) -> Self:
        """Parse a message received from NATS. Building a message checks what its producer may send;
        reading one checks only what a reader needs (`FROM_WIRE` in the validation context)."""
        return cls.__pydantic_validator__.validate_json(raw, context=FROM_WIRE)  # model_validate_json, less its wrapper


class Event(Message):
    """An internal fact published by one service through its outbox."""

    event_id: str = Field(default_factory=lambda: new_id("evt_"))
    occurred_at: datetime = Field(default_factory=utcnow)
    correlation_id: str | None = None
    tenant_id: str

    def subject_for(self) -> str:
        return self.subject


class Request(Message):
    """A request answered over NATS request/reply (core NATS, not kept in a stream).

    The service that answers is named by the subject (`rpc.<service>.…`, or `<service>.…` for the
    subjects API.md fixes). `callers` are the NATS users allowed to ask: the gateway unless a class
    says otherwise (`callers = ("gateway", "documents")`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    reply_model: ClassVar[type[BaseModel] | None] = None
    callers: ClassVar[tuple[str, ...]] = ("gateway",)

    @classmethod
    def responder(cls) -> str:
        tokens = cls.subject.split(".")
        return tokens[1] if tokens[0] == "rpc" else tokens[0]


class View(BaseModel):
    """A read model inside replies."""


class Reply(View):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ErrorReply(Reply):
    """What a request handler answers when it refuses; the gateway maps `code` to an HTTP status."""

    error: dict[str, Any]


def registry() -> list[type[Message]]:
    """Every concrete message class with a subject, for AsyncAPI and schema snapshots."""
    import contracts.billing.v1
    import contracts.documents.v1
    import contracts.gateway.v1
    import contracts.notify.v1
    import contracts.payments.v1
    import contracts.portal.v1
    import contracts.usage.v1  # noqa: F401

    found: list[type[Message]] = []

    def walk(cls: type[Message]) -> None:
        for sub in cls.__subclasses__():
            if sub.__dict__.get("subject"):
                found.append(sub)
            walk(sub)

    walk(Message)
    return sorted(set(found), key=lambda c: (c.subject, c.__name__))
