"""An SSE client that keeps reading in the background and remembers every event it got."""

from __future__ import annotations

import asyncio
import contextlib
import json
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from tests.support.stack import SseReader


@dataclass
class Collected:
    events: list[dict] = field(default_factory=list)

    def of(self, kind: str) -> list[dict]:
        return [json.loads(e["data"]) for e in self.events if e.get("event") == kind]

    def references(self) -> list[str]:
        return [d["reference"] for d in self.of("transaction.created")]

    def last_balance(self) -> int | None:
        balances = self.of("balance.updated")
        return balances[-1]["balance_cents"] if balances else None


@asynccontextmanager
async def collecting(http, headers: dict):
    """Open `/v1/stream`, wait for the first event (the current balance), collect until exit."""
    collected = Collected()
    async with http.stream("GET", "/v1/stream", headers=headers) as response:
        assert response.status_code == 200
        reader = SseReader(response)
        collected.events.append(await reader.next(timeout=10))

        async def pump() -> None:
            while True:
                collected.events.append(await reader.next(timeout=3600))

        task = asyncio.create_task(pump())
        try:
            yield collected
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
