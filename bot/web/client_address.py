"""The customer's address for the per-address limits, also behind a load balancer.

The peer's address is the client's unless the peer is one of `channels.trusted_proxies`: then
X-Forwarded-For is read from its right end, where the trusted proxies appended what they saw,
and the first address that is not itself a trusted proxy is the client's. Whatever stands
further left was written by the client and could be anything, so it is never read; a hop that
is not an address ends the walk at the last good one."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import web

from bot.web import keys

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"


def client_address(request: web.Request) -> str:
    """The address to count a request against (`unknown` when the peer has none)."""
    trusted = request.app[keys.COMPONENTS].settings.channels.trusted_proxies
    return resolve(request.remote, request.headers.getall("X-Forwarded-For", []), trusted)


def resolve(peer: str | None, forwarded: Sequence[str], trusted: Sequence[Network]) -> str:
    if peer is None:
        return UNKNOWN
    client = peer
    hops = [hop.strip() for header in forwarded for hop in header.split(",")]
    while _trusted(client, trusted) and hops:
        hop = hops.pop()
        if _address(hop) is None:
            break  # not an address: the proxy would not write that; keep the last good one
        client = hop
    return client


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    parsed = _address(address)
    return parsed is not None and any(parsed in network for network in trusted)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
