"""Usage records onto JetStream for `POST /ingest/v1/events`: every one acknowledged, or an error.

The records of a request are published asynchronously — one round trip for the batch, not one per
record — within a window of unacknowledged publishes per gateway process (`window`), so a burst of
requests waits for room instead of piling up messages NATS has not confirmed. Each carries
`Nats-Msg-Id` = its id: a retry of the same events (after a timeout, a 503, or when the id arrives
on NATS too) is dropped by JetStream within the stream's duplicate window, and billing's inbox debits
an id once beyond it. A request whose records were not all acknowledged in time is refused whole
(`UsageUnavailable` → 503): some of them may be on the stream, which the retry's ids make harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import nats.errors
from prometheus_client import Counter

from contracts.subjects import USAGE
from contracts.usage.v1 import UsageRecorded
from runtime.failures import Transient

PUBLISHED = Counter("ingest_usage_published_total", "Usage records JetStream acknowledged for POST /ingest/v1/events")
REFUSED = Counter("ingest_usage_unavailable_total", "Usage records refused with 503: NATS did not acknowledge them")


class UsageUnavailable(Transient):
    """JetStream did not acknowledge every record in time (NATS away, or too slow): retry the request."""


class UsagePublisher:
    def __init__(self, *, timeout_s: float, window: int = 2000) -> None:
        self.timeout_s = timeout_s
        self.window = window
        self._nc = None
        self._js = None

    def start(self, nc) -> None:
        self._nc = nc
        self._js = nc.jetstream(publish_async_max_pending=self.window)

    async def publish(self, records: Sequence[UsageRecorded]) -> None:
        if self._nc is None or not self._nc.is_connected:  # fail now: buffered publishes would wait for NATS
            REFUSED.inc(len(records))
            raise UsageUnavailable("NATS is not connected")
        acks: list[asyncio.Future] = []
        try:
            async with asyncio.timeout(self.timeout_s):
                for record in records:
                    acks.append(
                        await self._js.publish_async(
                            UsageRecorded.subject,
                            record.model_dump_json().encode(),
                            stream=USAGE.name,
                            headers={"Nats-Msg-Id": record.id},
                        )
                    )
                await asyncio.gather(*acks)
        except (TimeoutError, nats.errors.Error) as exc:
            REFUSED.inc(len(records))
            raise UsageUnavailable(f"JetStream did not acknowledge the usage records: {exc!r}") from exc
        finally:
            for ack in acks:  # an abandoned ack would hold its place in the window for good
                ack.cancel()
        PUBLISHED.inc(len(records))
