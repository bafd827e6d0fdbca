"""Connection options for NATS from the settings: credentials, TLS, a private inbox, loud refusals.

Every connection a service opens goes through here: the faststream broker (`runtime.messaging.
make_broker`) and any raw `nats.connect` (`connect()` below). Without credentials in the settings
the connection is unauthenticated, as before (the server decides whether that is allowed).
"""

from __future__ import annotations

import ssl
from typing import Any

import nats
import structlog
from prometheus_client import Counter

from runtime.nats_permissions import inbox_prefix
from runtime.settings import ServiceSettings

log = structlog.get_logger(__name__)

PERMISSION_VIOLATIONS = Counter(
    "nats_permission_violations_total", "Publishes or subscriptions the NATS server refused", ["service"]
)
PERMISSIONS_ERR = "permissions violation"


def tls_context(settings: ServiceSettings) -> ssl.SSLContext | None:
    """TLS when NATS_TLS_CA is set: the server's certificate must chain to it (and name the host)."""
    if not settings.nats_tls_ca:
        return None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=settings.nats_tls_ca)
    if settings.nats_tls_cert and settings.nats_tls_key:
        context.load_cert_chain(settings.nats_tls_cert, settings.nats_tls_key)
    return context


def error_callback(service: str):
    """nats-py reports a refused publish or subscription here, and nowhere else: count it and log
    it as an error, so a missing permission shows in metrics and tests instead of as a timeout."""

    async def on_error(exc: Exception) -> None:
        if PERMISSIONS_ERR in str(exc).lower():
            PERMISSION_VIOLATIONS.labels(service).inc()
            log.error("nats.permission_violation", service=service, error=str(exc))
        else:
            log.warning("nats.error", service=service, error=repr(exc))

    return on_error


def connect_options(settings: ServiceSettings, *, name: str) -> dict[str, Any]:
    """Keyword arguments for `nats.connect`."""
    options: dict[str, Any] = {"name": name, "inbox_prefix": inbox_prefix(name), "error_cb": error_callback(name)}
    if settings.nats_user and settings.nats_password:
        options.update(user=settings.nats_user, password=settings.nats_password.get_secret_value())
    elif settings.nats_creds:
        options["user_credentials"] = settings.nats_creds
    context = tls_context(settings)
    if context is not None:
        options["tls"] = context
    return options


def broker_options(settings: ServiceSettings) -> dict[str, Any]:
    """The same for faststream's NatsBroker, which takes credentials and TLS as a `security` object."""
    from faststream.nats import NatsCredentials, NatsSecurity, NatsUserPassword

    service = settings.service_name
    context = tls_context(settings)
    security: NatsSecurity | None
    if settings.nats_user and settings.nats_password:
        security = NatsUserPassword(settings.nats_user, settings.nats_password.get_secret_value(), ssl_context=context)
    elif settings.nats_creds:
        security = NatsCredentials(settings.nats_creds, ssl_context=context)  # needs the `nkeys` package
    elif context is not None:
        security = NatsSecurity(ssl_context=context)
    else:
        security = None
    return {"security": security, "inbox_prefix": inbox_prefix(service), "error_cb": error_callback(service)}


async def connect(settings: ServiceSettings, *, name: str | None = None, **extra: Any):
    """A raw NATS connection with the service's identity (for tools and jobs outside the broker)."""
    options = {**connect_options(settings, name=name or settings.service_name), **extra}
    return await nats.connect(settings.nats_servers, **options)
