"""CPU time the debit path costs, per process, from /proc: billing, its PostgreSQL backends, nats-server.

On a shared machine the wall-clock rate depends on whoever else runs; CPU-seconds per debit do
not, and 2 cores / (CPU per debit) is the rate the path reaches once it has the machine alone.
PostgreSQL backends are found through pg_stat_activity's client ports matched to billing's sockets.
"""

from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """utime + stime of a process, in seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def local_ports(pid: int) -> set[int]:
    """The local TCP ports of `pid`'s sockets."""
    inodes, ports = _socket_inodes(pid), set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[9] in inodes:
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


async def backend_pids(conn, billing_pids: list[int]) -> set[int]:
    ports = set().union(*(local_ports(pid) for pid in billing_pids))
    rows = await conn.fetch("SELECT pid, client_port FROM pg_stat_activity WHERE client_port IS NOT NULL")
    return {r["pid"] for r in rows if r["client_port"] in ports}


class CpuMeter:
    """CPU seconds of billing (all its replicas), their PostgreSQL backends and nats-server between
    `start()` and `stop()`."""

    def __init__(self, conn, *, billing_pids: list[int], nats_pid: int) -> None:
        self.conn, self.billing_pids, self.nats_pid = conn, billing_pids, nats_pid
        self.start_values: dict[str, float] = {}
        self.backends_at_start: dict[int, float] = {}

    async def _snapshot(self) -> tuple[dict[str, float], dict[int, float]]:
        backends = {pid: cpu_s(pid) for pid in await backend_pids(self.conn, self.billing_pids)}
        return {"billing": sum(cpu_s(pid) for pid in self.billing_pids), "nats": cpu_s(self.nats_pid)}, backends

    async def start(self) -> None:
        self.start_values, self.backends_at_start = await self._snapshot()

    async def stop(self) -> dict[str, float]:
        end, backends = await self._snapshot()
        used = {k: end[k] - self.start_values[k] for k in end}
        used["postgres"] = sum(v - self.backends_at_start.get(pid, 0.0) for pid, v in backends.items())
        return used
