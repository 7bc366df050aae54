"""The client's IP, trusting ``X-Forwarded-For`` only from trusted proxies (New API's TRUSTED_PROXIES)."""

from __future__ import annotations

import ipaddress
from functools import cache, lru_cache

from newapi.core.types import Scope
from newapi.http.headers import RequestHeaders

_DEFAULT_TRUSTED = ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")


@cache
def _trusted(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    if spec.strip().lower() == "none":
        return ()
    parts = [p.strip() for p in spec.split(",") if p.strip()] or list(_DEFAULT_TRUSTED)
    networks = []
    for part in parts:
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            continue
    return tuple(networks)


@lru_cache(maxsize=4096)
def _is_trusted(address: str, spec: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _trusted(spec))


def client_ip(scope: Scope, trusted_spec: str = "", headers: RequestHeaders | None = None) -> str:
    """The peer address, or the right-most untrusted ``X-Forwarded-For`` hop behind trusted proxies.
    ``headers``, the request's picked headers if the caller has them, saves the look for
    forwarding headers when there are none."""
    client = scope.get("client")
    peer = str(client[0]) if client else ""
    if headers is not None and not headers.x_forwarded_for and not headers.x_real_ip:
        # Neither header, or only empty ones: the scan below would answer the peer too.
        return peer
    if not peer or not _is_trusted(peer, trusted_spec):
        return peer
    forwarded: str | None = None
    for key, value in scope["headers"]:
        if key == b"x-forwarded-for":
            forwarded = value.decode("latin-1")
            break
        if key == b"x-real-ip" and forwarded is None:
            forwarded = value.decode("latin-1")
    if not forwarded:
        return peer
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted_spec):
            return hop
    return hops[0] if hops else peer
