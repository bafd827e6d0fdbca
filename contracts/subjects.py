"""Streams and subject conventions.

* Events: `<producer>.<entity>.<fact>.v<N>`, kept in one JetStream stream per producer.
* Customer-visible events: `portal.<event type>.v1`, kept in the PORTAL stream (SSE replay, notify).
* Usage in: `usage.recorded.v1` (USAGE stream), published by the platform.
* Request/reply: `billing.reserve.v1`, `billing.settle.v1`, `billing.release.v1` (fixed by API.md) and
  `rpc.<service>.<name>.v1` for the gateway's queries and commands. They are core NATS, never in a stream.
* Dead letters: `dlq.<durable consumer>` in the DLQ stream.

Who may publish and subscribe what (the NATS permissions, `runtime.nats_permissions`) is derived
from these specs and the message classes: a stream's `owner` produces into it and declares it; a
message's `durables` name its consumers (`<service>-<handler>`); a request's `callers` who asks it; a
stream's `producers` who else may publish into it.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    max_age_s: int = 7 * 24 * 3600
    duplicate_window_s: int = 3600
    # The service that publishes into it and declares it at start. None: shared or fed from outside
    # (USAGE, PORTAL, DLQ), declared by the provisioning step (`python -m runtime.nats_auth provision`).
    owner: str | None = None
    # Who else publishes into it (NATS users): the outside producer, and the gateway for HTTP ingestion.
    producers: tuple[str, ...] = ()


PAYMENTS = StreamSpec("PAYMENTS", ("payments.*.*.v1",), owner="payments")
BILLING = StreamSpec("BILLING", ("billing.*.*.v1",), owner="billing")
DOCUMENTS = StreamSpec("DOCUMENTS", ("documents.*.*.v1",), owner="documents")
NOTIFY = StreamSpec("NOTIFY", ("notify.*.*.v1",), owner="notify")
USAGE = StreamSpec("USAGE", ("usage.recorded.v1",), producers=("platform", "gateway"))
PORTAL = StreamSpec("PORTAL", ("portal.>",))
GATEWAY = StreamSpec("GATEWAY", ("gateway.*.*.v1",), owner="gateway")
DLQ = StreamSpec("DLQ", ("dlq.>",), max_age_s=30 * 24 * 3600)

ALL_STREAMS = (PAYMENTS, BILLING, DOCUMENTS, NOTIFY, USAGE, PORTAL, GATEWAY, DLQ)


def portal_subject(event_type: str) -> str:
    return f"portal.{event_type}.v1"


def dlq_subject(durable: str) -> str:
    return f"dlq.{durable}"
