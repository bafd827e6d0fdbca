"""Bounded argon2: one gateway process never holds more password checks than its memory budget.

argon2 takes `memory_cost` (64 MiB) for every hash and check, so eight logins at once used to
take 512 MiB on top of the gateway and the kernel killed the pod with every SSE stream on it.
Every argon2 call of the gateway (login, the dummy check for unknown emails, new passwords) runs
here: on a pool of as many threads as the budget holds checks, which is a hard bound even for a
check whose request has gone, behind a semaphore that a request waits on for at most `wait_s`
before it is answered 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import math
from concurrent.futures import ThreadPoolExecutor

from prometheus_client import Counter

from services.gateway import credentials

BUSY = Counter("password_checks_busy_total", "Password checks refused because every argon2 slot stayed taken")


class PasswordChecksBusy(Exception):
    """No argon2 slot came free in time; the caller answers 503 with `retry_after_s`."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__("too many password checks at once")
        self.retry_after_s = retry_after_s


class PasswordChecks:
    def __init__(self, *, memory_budget_mib: int, wait_s: float) -> None:
        self.slots = max(1, memory_budget_mib // credentials.ARGON2_MEMORY_MIB)
        self.wait_s = wait_s
        self._free = asyncio.Semaphore(self.slots)
        self._threads = ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="argon2")
        self._dummy_hash: str | None = None

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """argon2 against the user's hash, or against a dummy one when there is no user: the same work."""
        if stored_hash is None:
            if self._dummy_hash is None:
                self._dummy_hash = await self.hash("not-a-real-password")
            stored_hash = self._dummy_hash
        return await self._run(credentials.password_matches, stored_hash, password)

    async def hash(self, password: str) -> str:
        return await self._run(credentials.hash_password, password)

    async def _run(self, fn, *args):
        try:
            async with asyncio.timeout(self.wait_s):
                await self._free.acquire()
        except TimeoutError:
            BUSY.inc()
            raise PasswordChecksBusy(math.ceil(self.wait_s)) from None
        try:
            return await asyncio.get_running_loop().run_in_executor(self._threads, fn, *args)
        finally:
            self._free.release()

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
