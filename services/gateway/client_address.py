"""Who is calling: the client's address behind the proxies named in TRUSTED_PROXIES.

Each proxy appends the address it saw to X-Forwarded-For; whatever stands left of what our own
proxies appended was written by the client and proves nothing. So the header counts only when the
socket's peer is a trusted proxy, and then the client is the right-most hop that is not one.
uvicorn believes the header from loopback peers on its own; the gateway undoes that by putting the
socket's peer back (`socket_peer`), so that TRUSTED_PROXIES alone decides.
"""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_HOP_CHARS = 64  # a rate-limit key, not a place for a client's essay


def parse_networks(value: str) -> tuple[Network, ...]:
    """Comma-separated CIDRs; ValueError for anything else, `*` and networks that span every address."""
    networks = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        network = ipaddress.ip_network(item, strict=False)
        if network.prefixlen == 0:
            raise ValueError(f"{item}: name the proxies' networks, never every address")
        networks.append(network)
    return tuple(networks)


def client_address(peer: str | None, forwarded_for: list[str], trusted: tuple[Network, ...]) -> str:
    if not peer:
        return "unknown"
    if not _is_trusted(peer, trusted):
        return peer
    hops = [_host(hop) for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop[:MAX_HOP_CHARS]
    return hops[0][:MAX_HOP_CHARS] if hops else peer  # every hop is ours: the first one is the client


def socket_peer(send) -> tuple[str, int] | None:
    """The TCP peer of the connection uvicorn serves this request on (None under other servers)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    peer = transport.get_extra_info("peername") if transport is not None else None
    return (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) and len(peer) >= 2 else None


def _is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in trusted)


def _host(hop: str) -> str:
    """`203.0.113.7`, `203.0.113.7:4711` or `[2001:db8::1]:4711` → the address alone."""
    hop = hop.strip()
    if hop.startswith("["):
        return hop[1:].partition("]")[0]
    if hop.count(":") == 1:
        return hop.partition(":")[0]
    return hop
