"""Where a request goes: origin and proxy parsed once per (origin, proxy) pair, then reused.

A :class:`Route` also owns the stack of idle keep-alive connections for its pool key
(scheme, host, port, proxy), so finding a pooled connection costs one dict lookup.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit

from newapi.core.errors import UpstreamConnectError

if TYPE_CHECKING:
    from newapi.upstream._connection import Connection

_DEFAULT_PORTS = {"http": 80, "https": 443, "socks5": 1080, "socks5h": 1080}
_PROXY_SCHEMES = frozenset(("http", "https", "socks5", "socks5h"))
# Characters left as they are when a non-ASCII request target has to be percent-encoded.
_TARGET_SAFE = "/?&=%:@!$'()*+,;~-._#[]"


@dataclass(frozen=True, slots=True)
class Proxy:
    scheme: str
    host: str
    port: int
    username: str
    password: str

    @property
    def where(self) -> str:
        """``scheme://host:port`` for messages: never the credentials."""
        return f"{self.scheme}://{_join_host(self.host, self.port)}"

    def basic_auth(self) -> bytes:
        token = base64.b64encode(f"{self.username}:{self.password}".encode())
        return b"Proxy-Authorization: Basic " + token + b"\r\n"


class Route:
    """One pool key. ``idle`` is a LIFO stack: the warmest connection is reused first."""

    __slots__ = (
        "absolute_form",
        "extra_head",
        "host",
        "host_line",
        "idle",
        "port",
        "proxy",
        "tls",
        "where",
    )

    def __init__(self, scheme: str, host: str, port: int, proxy: Proxy | None) -> None:
        self.host = host
        self.port = port
        self.tls = scheme == "https"
        self.proxy = proxy
        default = port == _DEFAULT_PORTS[scheme]
        authority = _join_host(host, port) if not default else (f"[{host}]" if ":" in host else host)
        self.host_line = b"Host: " + authority.encode("idna") + b"\r\n"
        # Plain http through an HTTP proxy: absolute-form targets and credentials on every request.
        forward = proxy is not None and proxy.scheme in ("http", "https") and not self.tls
        self.absolute_form = f"{scheme}://{authority}".encode("idna") if forward else b""
        self.extra_head = proxy.basic_auth() if forward and proxy is not None and proxy.username else b""
        self.where = _join_host(host, port)
        self.idle: list[Connection] = []


def split_url(url: str) -> tuple[str, str]:
    """``(origin, target)`` of an absolute URL, cheaply: ``https://h:1/p?q`` -> ``https://h:1``, ``/p?q``."""
    start = url.find("://") + 3
    slash = url.find("/", start)
    query = url.find("?", start)
    if query >= 0 and (slash < 0 or query < slash):
        return url[:query], "/" + url[query:]
    if slash < 0:
        return url, "/"
    return url[:slash], url[slash:]


def encode_target(target: str) -> bytes:
    try:
        return target.encode("ascii")
    except UnicodeEncodeError:
        return quote(target, safe=_TARGET_SAFE).encode("ascii")


def make_route(origin: str, proxy: str) -> Route:
    """Parse an origin and an optional proxy URL; raises :class:`UpstreamConnectError` on nonsense."""
    try:
        parts = urlsplit(origin)
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        raise UpstreamConnectError("invalid upstream URL") from None
    if scheme not in ("http", "https") or not host:
        raise UpstreamConnectError("invalid upstream URL: expected http:// or https:// with a host")
    return Route(scheme, host, port, parse_proxy(proxy) if proxy else None)


def parse_proxy(proxy: str) -> Proxy:
    # Error messages here name no part of the URL: it may carry credentials.
    try:
        parts = urlsplit(proxy.strip())
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        raise UpstreamConnectError("invalid proxy URL") from None
    if scheme not in _PROXY_SCHEMES:
        raise UpstreamConnectError("unsupported proxy scheme (use http, https, socks5 or socks5h)")
    if not host:
        raise UpstreamConnectError("invalid proxy URL: no host")
    return Proxy(scheme, host, port, unquote(parts.username or ""), unquote(parts.password or ""))


def _join_host(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
