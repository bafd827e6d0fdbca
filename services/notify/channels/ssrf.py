"""Keep customer-supplied webhook URLs away from our own network (SSRF).

Checked twice: when an endpoint is created (`check_destination`) and on every send, where the
check sits inside the connection itself (`guarded_transport`): the address that is validated
is the address that is connected to, so a DNS answer that changes in between (rebinding)
cannot slip through. `allow_private=True` is for development against loopback receivers.
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


class UnsafeDestination(ValueError):
    """The URL may not be called: wrong scheme, or a private / internal address."""


def is_public_address(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
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
    internal = [str(address) for address in addresses if not is_public_address(address)]
    if internal:
        raise UnsafeDestination(f"{host} resolves to a non-public address ({', '.join(internal)})")


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
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
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


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())
