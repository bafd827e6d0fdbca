"""Tell a failure that can pass from one that cannot — the decision behind every retry.

* **transient** — a dependency is away (PostgreSQL restarting or failing over, NATS reconnecting, an
  RPC answered by nobody, Stripe 5xx / 429 / timeout) or the message overtook a prerequisite (a refund
  before its credit). Retried with capped exponential backoff *until it succeeds*: never
  dead-lettered, never terminated. Money is never dropped because a retry budget ran out.
* **permanent** — no retry can change it: the message does not parse, or a business rule refuses it
  for good. Dead-lettered at once, with its reason, for a human (and `python -m runtime.dlq replay`).
* **unexpected** — nobody classified it (a bug, most likely). Retried a few times in case it was a
  fluke, then dead-lettered with its traceback; after the fix it is replayed from the DLQ.

A transient failure is either *infrastructure* (the dependency is away for every message alike: the
whole batch waits and the consumer backs off before fetching more) or *message-specific*
(`PrerequisiteMissing`: only that message waits; the rest of the stream flows on).
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from typing import Literal

Kind = Literal["transient", "permanent", "unexpected"]


class Transient(Exception):
    """A failure that can pass: retried until it succeeds."""


class PrerequisiteMissing(Transient):
    """The message overtook what it depends on (a refund before the top-up's credit, a credit note
    before its invoice): this message alone waits and is retried."""


class Permanent(Exception):
    """No retry can change this: dead-lettered at once with the message as its reason."""


def _transient_types() -> tuple[type[BaseException], ...]:
    """Exception types of the libraries we use that mean "the dependency is away right now"."""
    import asyncpg.exceptions as pg
    import nats.errors as nats_errors
    import nats.js.errors as js_errors
    import sqlalchemy.exc as sa_exc

    return (
        Transient,
        ConnectionError,
        TimeoutError,
        socket.gaierror,  # refused, reset, timed out (asyncio's too), DNS
        sa_exc.OperationalError,
        sa_exc.InterfaceError,
        sa_exc.TimeoutError,  # pool exhausted
        sa_exc.DisconnectionError,
        pg.PostgresConnectionError,  # connection lost, refused, cannot connect now
        pg.InterfaceError,  # "connection is closed", "another operation is in progress" after a drop
        pg.CannotConnectNowError,
        pg.AdminShutdownError,
        pg.CrashShutdownError,
        pg.TooManyConnectionsError,
        pg.SerializationError,
        pg.DeadlockDetectedError,
        pg.LockNotAvailableError,
        pg.QueryCanceledError,
        pg.ReadOnlySQLTransactionError,  # a failover's old primary, now a replica
        nats_errors.TimeoutError,
        nats_errors.NoRespondersError,
        nats_errors.ConnectionClosedError,
        nats_errors.ConnectionReconnectingError,
        nats_errors.ConnectionDrainingError,
        nats_errors.NoServersError,
        nats_errors.StaleConnectionError,
        nats_errors.OutboundBufferLimitError,
        nats_errors.FlushTimeoutError,
        js_errors.ServiceUnavailableError,
        js_errors.NoStreamResponseError,
        js_errors.FetchTimeoutError,
    )


_TRANSIENT: tuple[type[BaseException], ...] | None = None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what it wraps (SQLAlchemy's `.orig`) and what caused it, each once."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend([getattr(current, "orig", None), current.__cause__, current.__context__])


# OSErrors that mean "the other side or the disk is unavailable for now" (not a missing file or a
# permission: those are configuration mistakes that no retry fixes)
_TRANSIENT_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.ENETUNREACH,
    errno.ENETDOWN,
    errno.EHOSTUNREACH,
    errno.ETIMEDOUT,
    errno.EPIPE,
    errno.EAGAIN,
    errno.ENOSPC,
    errno.EIO,
}


def _is_transient(exc: BaseException) -> bool:
    global _TRANSIENT
    if _TRANSIENT is None:
        _TRANSIENT = _transient_types()
    if isinstance(exc, _TRANSIENT):
        return True
    return isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS


def classify(exc: BaseException) -> Kind:
    if isinstance(exc, Permanent):
        return "permanent"
    if any(_is_transient(e) for e in _chain(exc)):
        return "transient"
    return "unexpected"


def is_message_specific(exc: BaseException) -> bool:
    """Only this message must wait (the others of its batch can go on)."""
    return isinstance(exc, PrerequisiteMissing)
