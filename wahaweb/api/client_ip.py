"""Which client made a request, for throttling: the peer, or what a trusted proxy says.

`X-Forwarded-For` is written by whoever sends the request, so believing it always would
let an attacker pick a fresh identity for every guess (or lock out someone else's). It
is read only when the peer itself is one of the operator's reverse proxies
(`WAHAWEB_TRUSTED_PROXIES`), and then from the right: the last address that is not a
trusted proxy is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: Iterable[str]) -> tuple[Network, ...]:
    """Networks from addresses or CIDRs; a bad entry is a configuration error, said clearly."""
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"WAHAWEB_TRUSTED_PROXIES: {item!r} is not an IP address or network") from exc
    return tuple(networks)


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_ip(peer: str | None, forwarded_for: str | None, proxies: tuple[Network, ...]) -> str:
    """The client's address as far as it can be trusted."""
    address = peer or "unknown"
    if not proxies or not _trusted(address, proxies):
        return address
    for hop in reversed([h.strip() for h in (forwarded_for or "").split(",") if h.strip()]):
        if not _trusted(hop, proxies):
            return hop
        address = hop
    return address
