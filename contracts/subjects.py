"""Streams and subject conventions.

* Events: `<producer>.<entity>.<fact>.v<N>`, kept in one JetStream stream per producer.
* Customer-visible events: `portal.<event type>.v1`, kept in the PORTAL stream (SSE replay, notify).
* Usage in: `usage.recorded.v1` (USAGE stream), published by the platform.
* Request/reply: `billing.reserve.v1`, `billing.settle.v1`, `billing.release.v1` (fixed by API.md) and
  `rpc.<service>.<name>.v1` for the gateway's queries and commands. They are core NATS, never in a stream.
* Dead letters: `dlq.<durable consumer>` in the DLQ stream.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    max_age_s: int = 7 * 24 * 3600
    duplicate_window_s: int = 3600


PAYMENTS = StreamSpec("PAYMENTS", ("payments.*.*.v1",))
BILLING = StreamSpec("BILLING", ("billing.*.*.v1",))
DOCUMENTS = StreamSpec("DOCUMENTS", ("documents.*.*.v1",))
NOTIFY = StreamSpec("NOTIFY", ("notify.*.*.v1",))
USAGE = StreamSpec("USAGE", ("usage.recorded.v1",))
PORTAL = StreamSpec("PORTAL", ("portal.>",))
GATEWAY = StreamSpec("GATEWAY", ("gateway.*.*.v1",))
DLQ = StreamSpec("DLQ", ("dlq.>",), max_age_s=30 * 24 * 3600)

ALL_STREAMS = (PAYMENTS, BILLING, DOCUMENTS, NOTIFY, USAGE, PORTAL, GATEWAY, DLQ)


def portal_subject(event_type: str) -> str:
    return f"portal.{event_type}.v1"


def dlq_subject(durable: str) -> str:
    return f"dlq.{durable}"
