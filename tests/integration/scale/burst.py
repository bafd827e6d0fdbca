"""A usage publisher that behaves like the platform: every record carries `Nats-Msg-Id`, and a
publish that times out or finds no responder (no stream leader) is retried until acknowledged."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

SUBJECT = "usage.recorded.v1"


@dataclass
class Burst:
    js: object
    records: list[tuple[str, bytes]]  # (Nats-Msg-Id, body)
    concurrency: int = 16
    timeout: float = 1.0
    on_ack: Callable[[int], None] | None = None  # called with the number acknowledged so far
    acks: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)

    async def run(self) -> None:
        pending = iter(self.records)
        await asyncio.gather(*(self._worker(pending) for _ in range(self.concurrency)))

    async def _worker(self, pending) -> None:
        for msg_id, body in pending:
            while True:
                try:
                    await self.js.publish(SUBJECT, body, headers={"Nats-Msg-Id": msg_id}, timeout=self.timeout)
                    break
                except Exception as exc:  # timeout, no responders, reconnecting: the platform retries
                    self.errors[type(exc).__name__] += 1
                    await asyncio.sleep(0.05)
            self.acks.append(time.monotonic())
            if self.on_ack:
                self.on_ack(len(self.acks))

    def largest_gap(self) -> tuple[float, float]:
        """(seconds, started at): the longest time between two consecutive acknowledgements."""
        times = sorted(self.acks)
        gaps = [(b - a, a) for a, b in itertools.pairwise(times)]
        return max(gaps, default=(0.0, 0.0))
