"""asyncio helpers the services' loops share."""

from __future__ import annotations

import asyncio


async def wait_set(event: asyncio.Event, timeout: float) -> bool:
    """Wait until `event` is set, at most `timeout` seconds; True when it was set.

    Not `asyncio.wait_for(event.wait(), timeout)`: on Python 3.11 that swallows a cancellation
    arriving in the same loop iteration as `event.set()` (gh-86296), and a `while True` loop around
    it then never stops — a service's shutdown hung on exactly this. `asyncio.timeout` tells its own
    cancellation from the caller's.
    """
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True
