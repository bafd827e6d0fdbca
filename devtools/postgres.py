"""A private PostgreSQL server from the installed binaries, for `make run`, the fault-injection test and
the test fixtures' fallback — no container engine.

Why the distribution's binaries (Debian's `postgresql` package, installed by `make` when missing) and
not a PyPI wheel that bundles a server: they are what production-like machines run, get security
updates from the distribution, and start in about a second; the wheels that ship PostgreSQL lag
behind and pull hundreds of megabytes per Python environment.

initdb and the server refuse to run as root: as root they run as an unprivileged system user
(`postgres` when it exists, else `nobody`), which owns the data directory. The superuser `postgres`
has a generated password (scram-sha-256); the server listens on 127.0.0.1 only, and its Unix socket
lives in the data directory's parent.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from devtools.infra import free_port, port_open


def postgres_bindir() -> Path | None:
    """The newest installed server binaries (Debian/Ubuntu layout), or the ones on PATH."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _service_user() -> str | None:
    """Who runs the server: the current user, or an unprivileged system user when we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists to run PostgreSQL")


class PostgresError(RuntimeError):
    pass


@dataclass
class PrivatePostgres:
    """A cluster under `root` (`root/data`, `root/server.log`, the socket in `root`); its port and the
    superuser's password are kept in `root/port` and `secret_file`, so a restart finds the same URL."""

    root: Path
    secret_file: Path
    database: str = "portal"

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.user = _service_user()
        bindir = postgres_bindir()
        if bindir is None:
            raise PostgresError(
                "PostgreSQL server binaries not found: install Debian's `postgresql` package "
                "(`make run` does) or set DATABASE_URL"
            )
        self.bindir = bindir

    # -- lifecycle ----------------------------------------------------------------------------------

    @property
    def initialized(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def ensure(self) -> str:
        """Initialise on first use, start, create the database; answer its URL."""
        first = not self.initialized
        if first:
            self.init()
        self.start()
        if first:
            self._create_database()
        return self.url()

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.secret_file.parent.mkdir(parents=True, exist_ok=True)
        if not self.secret_file.exists():
            self.secret_file.write_text(secrets.token_urlsafe(24))
            self.secret_file.chmod(0o600)
        pwfile = self.root / "initdb.pw"
        pwfile.write_text(self.password)
        self._own(self.root, pwfile)
        try:
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--pwfile",
                str(pwfile),
                "--auth-host=scram-sha-256",
                "--auth-local=peer",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def start(self, *, timeout_s: float = 30) -> None:
        if self.running():
            return
        port = self._port()
        options = f"-p {port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", str(int(timeout_s)), "start"
        )

    def stop(self, *, mode: str = "fast") -> None:
        """`fast` disconnects clients and shuts down cleanly; `immediate` is a crash (recovery at the next start)."""
        if self.running():
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        if not self.initialized:
            return False
        status = self._run("pg_ctl", "-D", str(self.data), "status", check=False)
        return status.returncode == 0

    def destroy(self) -> None:
        self.stop(mode="immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    # -- addresses -------------------------------------------------------------------------------

    @property
    def password(self) -> str:
        return self.secret_file.read_text().strip()

    @property
    def port(self) -> int:
        return int((self.root / "port").read_text())

    def url(self, database: str | None = None) -> str:
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/{database or self.database}"

    def wait_ready(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while not port_open("127.0.0.1", self.port):
            if time.monotonic() > deadline:
                raise PostgresError(f"PostgreSQL did not listen on {self.port} (see {self.log})")
            time.sleep(0.05)

    # -- helpers ----------------------------------------------------------------------------------

    def _port(self) -> int:
        """The port of the last start when it is still free, else a new free one (kept for next time)."""
        path = self.root / "port"
        if path.exists() and not port_open("127.0.0.1", int(path.read_text())):
            return int(path.read_text())
        port = free_port()
        path.write_text(str(port))
        return port

    def _create_database(self) -> None:
        env = {**os.environ, "PGPASSWORD": self.password}
        subprocess.run(
            [str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", self.database],
            check=True,
            env=env,
            capture_output=True,
            timeout=30,
        )

    def _own(self, *paths: Path) -> None:
        if self.user:
            for path in paths:
                shutil.chown(path, self.user, self.user)

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bindir / tool), *args]
        if self.user:
            command = (
                ["runuser", "-u", self.user, "--", *command]
                if shutil.which("runuser")
                else ["su", self.user, "-s", "/bin/sh", "-c", " ".join(_quote(a) for a in command)]
            )
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd="/")
        if check and result.returncode != 0:
            raise PostgresError(
                f"{tool} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
                f" — see {self.log}"
            )
        return result


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)
