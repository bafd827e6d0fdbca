"""A service process: database, broker, outbox relay, background jobs and an HTTP server, started
and stopped in the right order. Production (`python -m services.<name>`) and tests use the same class.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import sys
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from typing import Any

import structlog
import uvicorn
from fastapi import FastAPI
from faststream.nats import NatsBroker
from prometheus_client import Counter

from runtime import logs
from runtime.db import Database
from runtime.messaging import ensure_streams
from runtime.migrations import upgrade
from runtime.nats_permissions import streams_declared_by
from runtime.ops import ops_router
from runtime.outbox import OutboxRelay
from runtime.settings import ServiceSettings

log = structlog.get_logger(__name__)
JOB_STOP_S = 10.0  # how long stop() waits for cancelled jobs and consumers
WARM_UP_PATH = "/.warm-up/no-such-route"  # requested in-process before the server starts (`_warm_http`)

BackgroundJob = Callable[[], Awaitable[None]]
JOB_RESTART_DELAYS_S = (1, 2, 5, 10, 30)
JOB_RESTARTS = Counter("job_restarts_total", "Background jobs restarted after ending unexpectedly", ["job"])


class ConsumersDown(Exception):
    """Named in /readyz: the consumers whose loop is not running."""


async def supervised(job: BackgroundJob, *, name: str) -> None:
    """Run a background job for as long as the service runs: a job that raises or returns is logged,
    counted (`job_restarts_total`) and started again after a growing pause — never silently gone."""
    failures = 0
    while True:
        try:
            await job()
            log.error("job.ended", job=name)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("job.failed", job=name, error=repr(exc))
        JOB_RESTARTS.labels(name).inc()
        await asyncio.sleep(JOB_RESTART_DELAYS_S[min(failures, len(JOB_RESTART_DELAYS_S) - 1)])
        failures += 1


class _Server(uvicorn.Server):
    """Uvicorn without its own signal handling: the service decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Service:
    def __init__(
        self,
        *,
        settings: ServiceSettings,
        db: Database,
        broker: NatsBroker,
        migrations: str,
        http_app: FastAPI | None = None,
        jobs: list[BackgroundJob] | None = None,
        consumers: list | None = None,
        on_started: Callable[[Service], Awaitable[None]] | None = None,
        on_stopping: Callable[[Service], Awaitable[None]] | None = None,
        warm_reads: Sequence[tuple[str, tuple]] = (),
    ) -> None:
        self.settings = settings
        self.db = db
        self.broker = broker
        self.migrations = migrations
        self.http_app = http_app or FastAPI(title=settings.service_name, docs_url=None, redoc_url=None)
        self.http_app.include_router(
            ops_router({"nats": self._nats_ready, "database": db.ping, "consumers": self._consumers_ready})
        )
        self.jobs = jobs or []
        self.consumers = consumers or []
        self.on_started = on_started
        self.on_stopping = on_stopping
        self.warm_reads = warm_reads  # run on each pooled connection at start (`Database.warm`)
        self.relay: OutboxRelay | None = None
        self._tasks: list[asyncio.Task] = []
        self._job_tasks: list[asyncio.Task] = []
        self._server: _Server | None = None
        self.port: int | None = None

    @property
    def js(self):
        return self.broker.connection.jetstream()

    async def _nats_ready(self) -> bool:
        conn = self.broker.connection
        return bool(conn and conn.is_connected)

    async def _consumers_ready(self) -> bool:
        """Every consumer loop is subscribed (one that crashed is restarting: not ready meanwhile)."""
        down = [c.durable for c in self.consumers if not c.healthy]
        if down:
            raise ConsumersDown(", ".join(down))
        return True

    async def migrate(self) -> None:
        await upgrade(self.db, self.migrations)

    async def start(self, *, migrate: bool = True, serve_http: bool = True) -> None:
        if migrate:
            await self.migrate()
        await self.db.warm(reads=self.warm_reads)
        await self.broker.connect()
        await ensure_streams(
            self.js,
            replicas=self.settings.nats_stream_replicas,
            specs=streams_declared_by(self.settings.service_name, authenticated=self.settings.nats_authenticated),
        )
        self.relay = OutboxRelay(self.db, self.js, service=self.settings.service_name)
        self.db.after_commit(self.relay.wake)
        await self.broker.start()
        self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        for consumer in self.consumers:
            self._job_tasks.append(asyncio.create_task(consumer.run(self.js), name=consumer.durable))
        for job in self.jobs:
            name = getattr(job, "__name__", "job")
            self._job_tasks.append(asyncio.create_task(supervised(job, name=name), name=name))
        if self.on_started:
            await self.on_started(self)
        if serve_http:
            await self._warm_http()
            await self._start_http()
        log.info("service.started", service=self.settings.service_name, port=self.port)

    async def _warm_http(self) -> None:
        """Build what the HTTP app would build on its first requests, before it takes any.

        FastAPI builds each included router's routes (their dependants, and a pydantic TypeAdapter
        per parameter and response model: 207 in the gateway) when a request is first matched
        against them, and Starlette its middleware stack on the first request. A request for a path
        that no route has walks every router without running a handler or touching any data.
        """
        app = self.http_app
        if app.middleware_stack is None:
            app.middleware_stack = app.build_middleware_stack()
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": WARM_UP_PATH,
            "raw_path": WARM_UP_PATH.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [],
            "client": None,
            "server": None,
            "state": {},
        }

        async def receive() -> MutableMapping[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(_message: MutableMapping[str, Any]) -> None:
            pass

        await app.router(scope, receive, send)

    async def _start_http(self) -> None:
        config = uvicorn.Config(
            self.http_app,
            host=self.settings.host,
            port=self.settings.http_port,
            log_level="warning",
            lifespan="on",
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        self._server = _Server(config)
        self._tasks.append(asyncio.create_task(self._server.serve(), name="http"))
        while not self._server.started:
            if self._tasks[-1].done():
                self._tasks[-1].result()
            await asyncio.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Drain: stop taking HTTP requests, finish in-flight messages, flush the outbox, close."""
        if self.on_stopping:
            await self.on_stopping(self)
        if self._server:
            self._server.should_exit = True
        await asyncio.gather(*(c.drain() for c in self.consumers), return_exceptions=True)
        for task in self._job_tasks:
            task.cancel()
        if self._job_tasks:  # bounded: a job that ignores its cancellation must not hang the shutdown
            _, stuck = await asyncio.wait(self._job_tasks, timeout=JOB_STOP_S)
            for task in stuck:
                log.error("service.job_did_not_stop", service=self.settings.service_name, job=task.get_name())
        if self.relay:  # publish what the last batches committed while NATS is still connected
            self.relay.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.relay.flush(), 10)
        try:  # draining needs NATS; when it is gone, do not wait for it forever
            await asyncio.wait_for(self.broker.stop(), 5)
        except (TimeoutError, Exception) as exc:
            log.warning("broker.stop_incomplete", error=repr(exc))
        if self.relay:
            self.relay.stop()
        for task in self._tasks:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, 10)
        for task in self._tasks:
            task.cancel()
        await self.db.dispose()
        log.info("service.stopped", service=self.settings.service_name)


def main(build: Callable[[], Service], *, argv: list[str] | None = None) -> None:
    """Entry point: `python -m services.<name> [run|migrate]`."""
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "run"
    service = build()
    settings = service.settings
    logs.configure(service=settings.service_name, level=settings.log_level, json_logs=settings.log_json)
    if command == "migrate":
        asyncio.run(_migrate_only(service))
    elif command == "run":
        asyncio.run(_run_until_signal(service))
    else:
        raise SystemExit(f"unknown command {command!r}: use run or migrate")


async def _migrate_only(service: Service) -> None:
    await service.migrate()
    await service.db.dispose()


async def _run_until_signal(service: Service) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if tracemalloc.is_tracing() and (dump_to := os.environ.get("TRACEMALLOC_DUMP")):
        loop.add_signal_handler(signal.SIGUSR1, _dump_snapshot, dump_to)
    await service.start()
    # What start-up built (modules, app, pools) lives as long as the process: keep it out of every
    # later full collection. Without this the first gen-2 collections under load took 60-80 ms and
    # made the first seconds at 200 requests/s reach 270 ms p99. (Process entry point only: tests
    # start services inside one long-lived process.)
    gc.collect()
    gc.freeze()
    await stop.wait()
    await service.stop()


def _dump_snapshot(path: str) -> None:
    """Benchmarks only (a process started with PYTHONTRACEMALLOC and TRACEMALLOC_DUMP): SIGUSR1 writes
    a tracemalloc snapshot to `path`, complete when `path` appears (written aside, then renamed)."""
    gc.collect()
    tracemalloc.take_snapshot().dump(f"{path}.part")
    os.replace(f"{path}.part", path)
