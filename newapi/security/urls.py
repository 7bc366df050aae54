"""Is a user-supplied URL safe for the server to call? (server-side request forgery guard)

A URL a user gives us (a notification webhook, a Bark or Gotify server) must
not make the gateway reach into its own network: loopback, private ranges,
link-local (where cloud metadata services live), carrier-grade NAT, multicast
and reserved space are refused. The host may be written in any form a
resolver accepts, so IPv4 literals are parsed the way ``inet_aton`` does
(``2130706433``, ``0177.0.0.1``, ``0x7f.1``), IPv6 literals are unwrapped when
they embed an IPv4 address (mapped, NAT64, 6to4, Teredo), and a DNS name is
resolved and *every* address it resolves to is checked.

Checking when a URL is saved does not stop a name from being re-pointed later
(DNS rebinding); code that sends to such a URL should call :func:`check_url`
again right before each request.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: ``(host, port) -> addresses``; the default asks the system resolver.
Resolver = Callable[[str, int], Awaitable[Iterable[str]]]

ALLOWED_SCHEMES = frozenset({"http", "https"})
# Names that reach metadata services or the host itself without any DNS record.
_BLOCKED_NAMES = frozenset({"localhost", "metadata", "metadata.google.internal", "metadata.goog"})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")


class UnsafeUrl(ValueError):
    """The URL may not be called by the server; the message says why."""


def parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """``host`` as IPv4 in any form ``inet_aton`` accepts, or None if it is not one.

    One to four parts, each decimal, octal (leading 0) or hex (0x); the last part
    fills the remaining bytes, so ``127.1`` is 127.0.0.1 and ``2130706433`` too.
    """
    parts = host.split(".")
    if host.endswith("."):
        parts = parts[:-1]  # a trailing dot is the root label, as in "127.0.0.1."
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        value = _parse_part(part)
        if value is None:
            return None
        values.append(value)
    *head, last = values
    if any(v > 0xFF for v in head) or last >= 256 ** (5 - len(values)):
        return None
    number = 0
    for v in head:
        number = number << 8 | v
    number = number << (8 * (5 - len(values))) | last
    return ipaddress.IPv4Address(number)


def _parse_part(part: str) -> int | None:
    text = part.lower()
    try:
        if text.startswith("0x"):
            return int(text[2:] or "0", 16)
        if len(text) > 1 and text.startswith("0"):
            return int(text[1:], 8)
        if text.isdigit():
            return int(text, 10)
    except ValueError:
        return None
    return None


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    packed = int(address)
    if address in _NAT64 or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    if packed >> 32 == 0 and packed > 1:
        return ipaddress.IPv4Address(packed)  # deprecated IPv4-compatible ::a.b.c.d
    return None


def is_forbidden(address: IPAddress) -> bool:
    """True for every address that is not plainly public unicast."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None and is_forbidden(inner):
            return True
        if address.scope_id:
            return True
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return True  # carrier-grade NAT; Alibaba Cloud's metadata service lives here
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def ip_literal(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is written as one (any IPv4 form, or IPv6)."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            return None
    return parse_ipv4(host)


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def check_url(
    url: str,
    *,
    allow_private: bool = False,
    resolver: Resolver | None = None,
    forbidden: Callable[[IPAddress], bool] = is_forbidden,
) -> None:
    """Raise :class:`UnsafeUrl` unless ``url`` is http(s) to public addresses only.

    ``allow_private`` (the ``NEWAPI_ALLOW_PRIVATE_URLS`` setting) skips the
    address checks for deployments whose webhooks live on the private network.
    ``forbidden`` classifies addresses (tests swap it to call a loopback server "public").
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl(f"invalid URL: {exc}") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise UnsafeUrl("the URL must start with http:// or https://")
    host = (parts.hostname or "").strip()
    if not host:
        raise UnsafeUrl("the URL has no host")
    if allow_private:
        return
    host = host.split("%", 1)[0]  # an IPv6 zone id names a local interface
    if "%" in (parts.hostname or ""):
        raise UnsafeUrl("the URL points to a link-local address")
    literal = ip_literal(host)
    if literal is not None:
        if forbidden(literal):
            raise UnsafeUrl("the URL points to a private, loopback or reserved address")
        return
    name = host.rstrip(".").lower()
    if name in _BLOCKED_NAMES or name.endswith((".localhost", ".internal", ".local")):
        raise UnsafeUrl("the URL points to a local or internal host name")
    if name.replace(".", "").replace("x", "").isalnum() and name.split(".")[-1].isdigit():
        # All-numeric labels that did not parse as IPv4 (e.g. 256.1.1.1): a resolver
        # might still read them as an address, so they are refused outright.
        raise UnsafeUrl("the URL's host is not a valid address")
    try:
        addresses = list(await (resolver or system_resolver)(name, port))
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(f"the URL's host cannot be resolved: {exc}") from None
    if not addresses:
        raise UnsafeUrl("the URL's host cannot be resolved")
    for text in addresses:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            raise UnsafeUrl("the URL's host resolved to an unreadable address") from None
        if forbidden(address) or "%" in text:
            raise UnsafeUrl("the URL's host resolves to a private, loopback or reserved address")
