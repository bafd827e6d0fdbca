"""The AsyncAPI 3.0 document, generated from the contract classes.

python -m contracts.asyncapi                    # print the document (JSON)
python -m contracts.asyncapi --write-snapshot   # refresh contracts/schemas.snapshot.json
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

from contracts.base import Event, Request, registry
from contracts.portal.v1 import DATA_MODELS, EVENT_TYPES, PortalEvent
from contracts.subjects import portal_subject

SNAPSHOT = Path(__file__).with_name("schemas.snapshot.json")


def _name(subject: str) -> str:
    return subject.replace(".", "_").replace("*", "any").replace(">", "all")


@functools.cache
def message_schemas() -> dict[str, dict[str, Any]]:
    """subject → JSON schema of its payload (portal events: one per event type)."""
    schemas: dict[str, dict[str, Any]] = {}
    for cls in registry():
        if cls is PortalEvent:
            continue
        schemas[cls.subject] = cls.model_json_schema()
        reply = getattr(cls, "reply_model", None)
        if reply is not None:
            schemas[f"{cls.subject}#reply"] = reply.model_json_schema()
    envelope = PortalEvent.model_json_schema()
    for event_type in EVENT_TYPES:
        schema = json.loads(json.dumps(envelope))
        data_model = DATA_MODELS.get(event_type)
        if data_model is not None:
            schema["properties"]["data"] = data_model.model_json_schema()
        schemas[portal_subject(event_type)] = schema
    return schemas


def document() -> dict[str, Any]:
    channels, operations, messages = {}, {}, {}
    kinds = {cls.subject: cls for cls in registry()}
    for subject, schema in sorted(message_schemas().items()):
        if subject.endswith("#reply"):
            continue
        name = _name(subject)
        cls = kinds.get(subject)
        messages[name] = {
            "name": name,
            "payload": schema,
            "contentType": "application/json",
            "summary": (cls.__doc__ or "").strip().split("\n")[0] if cls else f"Customer event {subject}",
        }
        channels[name] = {"address": subject, "messages": {name: {"$ref": f"#/components/messages/{name}"}}}
        op: dict[str, Any] = {"action": "send", "channel": {"$ref": f"#/channels/{name}"}}
        if cls is not None and issubclass(cls, Request):
            reply = f"{subject}#reply"
            messages[_name(reply)] = (
                {"name": _name(reply), "payload": message_schemas()[reply]}
                if reply in message_schemas()
                else {"name": _name(reply)}
            )
            op["reply"] = {"messages": [{"$ref": f"#/components/messages/{_name(reply)}"}]}
        op["description"] = (
            "JetStream (durable)" if cls is None or issubclass(cls, Event) or cls.stream else "NATS request/reply"
        )
        operations[name] = op
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Prepaid Balance Portal — message contracts", "version": "1.0.0"},
        "defaultContentType": "application/json",
        "servers": {"nats": {"host": "127.0.0.1:4222", "protocol": "nats"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def main(argv: list[str]) -> None:
    if "--write-snapshot" in argv:
        SNAPSHOT.write_text(json.dumps(message_schemas(), indent=1, sort_keys=True) + "\n")
        print(f"wrote {SNAPSHOT}")
        return
    print(json.dumps(document(), indent=2, sort_keys=False, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
