"""Keep customer-supplied URLs (webhook endpoints, browser push endpoints) away from our own network (SSRF).

Checked twice: when an endpoint is created (`check_destination`) and on every send, where the
check sits inside the connection itself (`guarded_transport`): the address that is validated
is the address that is connected to, so a DNS answer that changes in between (rebinding)
cannot slip through. `guarded_client` adds what every such call needs besides: no redirects
(a public host could send us on to an internal one), no proxies from the environment, and
`read_snippet` reads at most a KiB of any answer. Refusals never name the internal address
(the customer reads them in the delivery log). `allow_private=True` is for development
against loopback receivers.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from urllib.parse import urlsplit

import certifi
import httpcore
import httpx

ALLOWED_SCHEMES = frozenset({"http", "https"})
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SNIPPET_BYTES = 1024
# IPv6 ranges that lead back to IPv4 or to a site: 6to4 (embeds any IPv4, private ones included),
# the deprecated site-local range, and NAT64 (the local-use prefix and the well-known one).
INSIDE_IPV6 = tuple(ipaddress.ip_network(n) for n in ("2002::/16", "fec0::/10", "64:ff9b:1::/48", "64:ff9b::/96"))


class UnsafeDestination(ValueError):
    """The URL may not be called: wrong scheme, or a private / internal address."""


def is_public_address(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv6Address) and any(address in network for network in INSIDE_IPV6):
        return False
    internal = (
        address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
        or address.is_reserved or address.is_unspecified
    )  # fmt: skip
    return address.is_global and not internal


def split_url(url: str) -> tuple[str, int]:
    """Host and port of an http(s) URL, or UnsafeDestination."""
    parts = urlsplit(url)
    if parts.scheme not in ALLOWED_SCHEMES:
        raise UnsafeDestination(f"only http and https URLs are allowed, not {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise UnsafeDestination("the URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeDestination(str(exc)) from None
    return parts.hostname, port


async def resolve(host: str, port: int) -> list[IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def refuse_internal(host: str, addresses: Iterable[IPAddress]) -> None:
    if any(not is_public_address(address) for address in addresses):
        raise UnsafeDestination(f"{host} resolves to a non-public address")


async def check_destination(url: str, *, allow_private: bool = False) -> None:
    """Validate a webhook URL when the customer registers it."""
    host, port = split_url(url)
    if allow_private:
        return
    try:
        addresses = await resolve(host, port)
    except socket.gaierror as exc:
        raise UnsafeDestination(f"cannot resolve {host}: {exc.strerror}") from None
    refuse_internal(host, addresses)


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolves, refuses internal addresses, then connects to exactly the address it checked."""

    def __init__(self, *, allow_private: bool = False) -> None:
        self._allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve(host, port)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror}") from exc
        if not self._allow_private:
            refuse_internal(host, addresses)
        last_error: Exception = httpcore.ConnectError(f"no address for {host}")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        raise last_error

    async def connect_unix_socket(self, *args: object, **kwargs: object) -> httpcore.AsyncNetworkStream:
        raise UnsafeDestination("unix sockets are not a webhook destination")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_transport(
    *, allow_private: bool = False, ssl_context: ssl.SSLContext | None = None
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose every connection goes through `GuardedNetworkBackend`."""
    ssl_context = ssl_context or default_ssl_context()
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, trust_env=False)
    # httpx has no option for a network backend, so its pool is replaced by one with the same
    # defaults plus ours (checked against httpx 0.28 / httpcore 1.0).
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context,
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=GuardedNetworkBackend(allow_private=allow_private),
    )
    return transport


def guarded_client(
    *,
    timeout_s: float,
    allow_private: bool = False,
    ssl_context: ssl.SSLContext | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    """One per process (it pools connections): the guarded transport, no redirects, no proxies."""
    return httpx.AsyncClient(
        transport=guarded_transport(allow_private=allow_private, ssl_context=ssl_context),
        timeout=timeout_s,
        follow_redirects=False,
        trust_env=False,  # no proxies from the environment: they would bypass the guard
        headers=headers,
    )


async def read_snippet(response: httpx.Response) -> str:
    """The first KiB of the answer (for the delivery log); the rest is never read."""
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= SNIPPET_BYTES:
            break
    return b"".join(chunks)[:SNIPPET_BYTES].decode("utf-8", errors="replace")


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())
