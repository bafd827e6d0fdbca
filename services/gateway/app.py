"""Composition root of the gateway: settings → database, NATS, SSE hub, rate limiter, usage publisher, HTTP routes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from runtime.db import Database
from runtime.messaging import make_broker
from runtime.service import Service
from services.gateway import client_address, handlers, stream_sweep
from services.gateway.api import errors
from services.gateway.api.routes import (
    account,
    admin,
    billing_settings,
    docs,
    documents,
    exports,
    ingest,
    notifications,
    password_reset,
    payments,
    platform_keys,
    portal_auth,
    push_config,
    reconciliation,
    refunds,
    stream,
    tenant_overview,
)
from services.gateway.config import GatewaySettings
from services.gateway.cookie_policy import CookiePolicy
from services.gateway.key_cache import KeyCache, PlatformKeyCache
from services.gateway.key_usage import KeyUsage
from services.gateway.middleware import BodyLimit, Metrics, with_security_headers
from services.gateway.ops import router as ops_router
from services.gateway.password_checks import PasswordChecks
from services.gateway.portal import router as portal_router
from services.gateway.portal import static_app
from services.gateway.ratelimit import RateLimiter
from services.gateway.reset_requests import ResetRequests
from services.gateway.revocations import Revocations
from services.gateway.sse import Hub
from services.gateway.tables import PlatformKey
from services.gateway.usage_publisher import UsagePublisher

MIGRATIONS = str(Path(__file__).parent / "migrations")


@dataclass
class GatewayState:
    settings: GatewaySettings
    db: Database
    hub: Hub
    limiter: RateLimiter
    key_usage: KeyUsage
    key_cache: KeyCache
    revocations: Revocations
    platform_key_usage: KeyUsage
    platform_key_cache: PlatformKeyCache
    usage_publisher: UsagePublisher
    password_checks: PasswordChecks
    reset_requests: ResetRequests
    service: Service | None = None

    @property
    def nc(self):
        return self.service.broker.connection


class GatewayApp(FastAPI):
    """Keeps the server's own `send` in the scope: the SSE fast path writes to its socket (stream.py).
    The client is the socket's peer again: TRUSTED_PROXIES, not uvicorn, decides whom to believe.
    Every response gets the security headers, those Starlette answers itself included."""

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            scope[stream.RAW_SEND] = send
            if (peer := client_address.socket_peer(send)) is not None:
                scope["client"] = peer
            send = with_security_headers(send)
        await super().__call__(scope, receive, send)


def create_http_app(state: GatewayState) -> FastAPI:
    app = GatewayApp(
        title="Prepaid Balance Portal API",
        version="1.0.0",
        description="Balance, top-ups, payment methods, auto top-up, documents, notifications and live events.",
        docs_url=None,
        redoc_url=None,  # /docs is docs.router, with its own Content-Security-Policy
    )
    app.state.gateway = state
    errors.install(app)
    # A request is matched against the routes in the order they were included (FastAPI checks each
    # router's routes in turn: 54 checks before /v1/dashboard matched, a third of the gateway's CPU
    # per request). The API's most requested routes come first; no path of theirs is another's.
    app.include_router(account.router)
    app.include_router(stream.router)
    app.include_router(portal_router)  # the portal's pages, GET / among them: before the other routers
    app.include_router(ops_router)  # the operator console, /ops
    app.mount("/static", static_app(), name="static")
    for module in (
        admin,
        tenant_overview,
        platform_keys,
        exports,
        reconciliation,
        refunds,
        payments,
        billing_settings,
        documents,
        notifications,
        ingest,
        portal_auth,
        password_reset,
        docs,
    ):
        app.include_router(module.router)
    app.include_router(push_config.router)  # GET /v1/push/vapid-public-key
    app.add_middleware(BodyLimit, max_bytes=state.settings.max_body_bytes)
    app.add_middleware(
        CookiePolicy, secure=state.settings.secure_cookies, prefixed=state.settings.app_env == "production"
    )
    app.add_middleware(Metrics)
    return app


def build(settings: GatewaySettings | None = None) -> Service:
    settings = settings or GatewaySettings()
    db = Database(settings.resolved_database_url(), settings.schema, pool_size=settings.db_pool_size)
    ended = Revocations()
    state = GatewayState(
        settings=settings,
        db=db,
        hub=Hub(
            queue_size=settings.sse_queue_size,
            replay_limit=settings.sse_replay_limit,
            max_buffer_bytes=settings.sse_max_buffer_bytes,
            heartbeat_s=settings.sse_heartbeat_s,
            replay_concurrency=settings.sse_replay_concurrency,
            replay_wait_s=settings.sse_replay_wait_s,
        ),
        limiter=RateLimiter(limit_per_minute=settings.rate_limit_per_minute, replicas=settings.nats_stream_replicas),
        key_usage=KeyUsage(db),
        key_cache=KeyCache(db, ended),
        revocations=ended,
        platform_key_usage=KeyUsage(db, table=PlatformKey),
        platform_key_cache=PlatformKeyCache(db, ended),
        usage_publisher=UsagePublisher(timeout_s=settings.request_timeout_s),
        password_checks=PasswordChecks(
            memory_budget_mib=settings.password_checks_memory_mib, wait_s=settings.password_check_wait_s
        ),
        reset_requests=ResetRequests(db=db, settings=settings),
    )
    ended.on_ended(state.hub.close_ended)
    broker = make_broker(settings, name="gateway")
    handlers.register(broker, db=db, settings=settings)

    async def sweep_streams() -> None:
        await stream_sweep.sweep_forever(hub=state.hub, db=db, ended=ended)

    async def started(service: Service) -> None:
        await state.hub.start(service.js)
        await state.limiter.start(service.js, connected=lambda: service.broker.connection.is_connected)
        await state.revocations.start(service.broker.connection)
        state.usage_publisher.start(service.broker.connection)

    async def stopping(_service: Service) -> None:
        await state.hub.stop()
        state.password_checks.close()

    service = Service(
        settings=settings,
        db=db,
        broker=broker,
        migrations=MIGRATIONS,
        http_app=create_http_app(state),
        jobs=[state.key_usage.run, state.platform_key_usage.run, state.reset_requests.run, sweep_streams],
        on_started=started,
        on_stopping=stopping,
    )
    state.service = service
    return service
