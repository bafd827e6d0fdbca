"""Shared fixtures: real NATS (a private server per test) and real PostgreSQL (a schema per test)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import traceback
import uuid
from pathlib import Path

import pytest
from hypothesis import settings

from devtools.infra import NatsProcess, in_ci, postgres_url


def _print_tasks(_signum, _frame) -> None:
    """`kill -USR1 <pytest pid>` writes every asyncio task's stack to /tmp/asyncio-tasks-<pid>.txt
    (pytest captures stderr): what a stuck test awaits."""
    with open(f"/tmp/asyncio-tasks-{os.getpid()}.txt", "a") as out:
        try:
            tasks = asyncio.all_tasks()
        except RuntimeError:  # no loop running at this moment
            traceback.print_stack(_frame, file=out)
            return
        for task in tasks:
            print(f"--- {task.get_name()}", file=out)
            task.print_stack(file=out)


signal.signal(signal.SIGUSR1, _print_tasks)

# Locally hypothesis explores new examples every run; CI replays a fixed sequence so that a landing
# is decided by the code, not by the draw (a failure found locally is kept in .hypothesis/).
settings.register_profile("ci", derandomize=True, print_blob=True)
if in_ci():
    settings.load_profile("ci")


def _permission_violations() -> float:
    from runtime.nats_connect import PERMISSION_VIOLATIONS

    return sum(
        sample.value
        for metric in PERMISSION_VIOLATIONS.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    )


@pytest.fixture(autouse=True)
def no_permission_violations():
    """Every test runs its services with their own NATS users: a publish or subscription the
    server refused to a service (not to a test's own client) fails the test that caused it."""
    before = _permission_violations()
    yield
    assert _permission_violations() == before, "a service was refused by NATS (see nats.permission_violation)"


@pytest.fixture
def nats_server():
    """A fresh JetStream server per test (streams and durables never leak between tests), with the
    generated users and permissions (devtools.infra.NatsProcess): `nats_url` is the `operator`'s,
    services get their own user. With NATS_URL set, that server is used as it is (no credentials)
    and restart tests skip."""
    if os.environ.get("NATS_URL"):
        yield None
        return
    server = NatsProcess().start()
    yield server
    server.cleanup()


@pytest.fixture
def nats_url(nats_server) -> str:
    return nats_server.url if nats_server else os.environ["NATS_URL"]


@pytest.fixture(scope="session")
def database_url() -> str:
    url = postgres_url()
    if url is None:
        message = "no PostgreSQL: set DATABASE_URL, run one on 127.0.0.1:5432, install its binaries or Docker"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def created_schemas(database_url):
    schemas: list[str] = []
    yield schemas
    if not schemas:
        return
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def new_schema(created_schemas):
    """Call to get a fresh schema name (one per service instance group); dropped at session end."""

    def make(prefix: str = "t") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        created_schemas.append(name)
        return name

    return make


@pytest.fixture
def tenant_id() -> str:
    return f"ten_{uuid.uuid4().hex[:16]}"


@pytest.fixture
def private_postgres():
    """A PostgreSQL cluster of this test's own, from the installed binaries, that the test may stop
    (`stop()`, `stop(mode="immediate")`) and start again; its URL is `url()`."""
    from devtools.postgres import PostgresError, PrivatePostgres, postgres_bindir

    if postgres_bindir() is None:
        message = "no PostgreSQL server binaries to start a private cluster (Debian's postgresql package)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="pg-private-"))  # not under pytest's 0700 tmp: the server may
    root.chmod(0o755)  # run as another user (never as root), who must reach its directory
    server = PrivatePostgres(root / "pg", root / "password", database="test")
    try:
        server.ensure()
    except PostgresError as exc:
        pytest.fail(f"private PostgreSQL did not start: {exc}")
    yield server
    server.destroy()
    shutil.rmtree(root, ignore_errors=True)
