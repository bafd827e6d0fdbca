"""Login cannot exhaust memory: argon2 needs 64 MiB per check, so concurrent checks are bounded.

Before the fix every login ran argon2 in the default thread pool (CPUs + 4 workers), also as a
dummy check for unknown emails: a burst of logins took 64 MiB per worker at once, past the pod's
512 Mi limit, and the kernel killed the gateway with every SSE stream on it.
"""

import asyncio
from pathlib import Path

import httpx

from tests.security.conftest import add_portal_user, login_form, post_login

BUDGET_MIB = 128  # two argon2 checks at a time
SLACK_MIB = 40  # 100 open connections, request buffers, allocator noise
EMAIL, PASSWORD = "anna@muster.example", "correct horse battery"


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


async def _valid_login_during_the_storm(web: httpx.AsyncClient, form: dict) -> list[int]:
    """A real user, who waits as long as each 503 asks before trying again."""
    statuses = []
    for _ in range(10):
        answer = await post_login(web, form, EMAIL, PASSWORD)
        statuses.append(answer.status_code)
        if answer.status_code != 503:
            return statuses
        await asyncio.sleep(int(answer.headers["retry-after"]))
    return statuses


async def test_100_concurrent_logins_stay_within_the_memory_budget_and_a_real_login_gets_through(
    gateway_processes, database_url
):
    [gateway] = await gateway_processes(
        1, RATE_LIMIT_PER_MINUTE="100000", PASSWORD_CHECKS_MEMORY_MIB=str(BUDGET_MIB), PASSWORD_CHECK_WAIT_S="1"
    )
    await add_portal_user(database_url, gateway_processes.schema, email=EMAIL, password=PASSWORD)
    pid = gateway.proc.pid
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=60, limits=limits) as web:
        form = await login_form(web)
        assert (await post_login(web, form, "warm-up@nowhere.example", "x")).status_code == 401
        baseline = memory_kib(pid, "VmRSS")
        storm = [
            post_login(web, form, EMAIL if n % 2 else f"nobody{n}@nowhere.example", f"guess {n}") for n in range(100)
        ]
        answers, valid = await asyncio.gather(asyncio.gather(*storm), _valid_login_during_the_storm(web, form))
        peak = memory_kib(pid, "VmHWM")  # the process's highest resident set size, ever
    growth_mib = (peak - baseline) / 1024
    statuses = [a.status_code for a in answers]
    print(
        f"\nlogin RSS: baseline {baseline / 1024:.0f} MiB, peak {peak / 1024:.0f} MiB (+{growth_mib:.0f} MiB) "
        f"under 100 concurrent logins; answers {statuses.count(401)}×401 {statuses.count(503)}×503; "
        f"valid login {valid}"
    )
    assert set(statuses) <= {401, 503}
    assert all(a.headers.get("retry-after") for a in answers if a.status_code == 503)
    assert valid[-1] == 303
    assert growth_mib < BUDGET_MIB + SLACK_MIB
