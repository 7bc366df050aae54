"""Opening a connection: direct, through an HTTP(S) proxy (CONNECT), or through SOCKS5.

Proxy handshakes run on the same :class:`Connection` in raw mode; TLS to the target is then
started on top with ``loop.start_tls``. Nothing here logs or echoes proxy credentials.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Callable

from newapi.core.errors import UpstreamConnectError
from newapi.upstream._connection import Connection
from newapi.upstream._route import Proxy, Route

_SOCKS_REPLIES = {
    1: "general failure",
    2: "connection not allowed by ruleset",
    3: "network unreachable",
    4: "host unreachable",
    5: "connection refused",
    6: "TTL expired",
    7: "command not supported",
    8: "address type not supported",
}


async def open_connection(
    loop: asyncio.AbstractEventLoop,
    route: Route,
    factory: Callable[[], Connection],
    context: ssl.SSLContext,
) -> Connection:
    proxy = route.proxy
    if proxy is None:
        hostname = route.host if route.tls else None
        tls = context if route.tls else None
        _, conn = await loop.create_connection(
            factory, route.host, route.port, ssl=tls, server_hostname=hostname
        )
        return conn
    proxy_tls = proxy.scheme == "https"
    _, conn = await loop.create_connection(
        factory,
        proxy.host,
        proxy.port,
        ssl=context if proxy_tls else None,
        server_hostname=proxy.host if proxy_tls else None,
    )
    try:
        if proxy.scheme in ("socks5", "socks5h"):
            conn.raw = bytearray()
            await _socks5(loop, conn, proxy, route.host, route.port)
        elif route.tls:
            conn.raw = bytearray()
            await _http_connect(conn, proxy, route)
        else:
            return conn  # plain http through an HTTP proxy: absolute-form requests, no tunnel
        if conn.raw:
            raise UpstreamConnectError("proxy sent unexpected bytes after the handshake")
        conn.raw = None
        if route.tls:
            transport = await loop.start_tls(conn.transport, conn, context, server_hostname=route.host)
            if transport is None:
                raise UpstreamConnectError("TLS through the proxy could not be started")
            conn.transport = transport
    except BaseException:
        conn.abort()
        raise
    return conn


async def _http_connect(conn: Connection, proxy: Proxy, route: Route) -> None:
    authority = route.where.encode("idna")
    auth = proxy.basic_auth() if proxy.username else b""
    conn.transport.write(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (authority, authority, auth))
    head = await conn.recv_head()
    line = head.split(b"\r\n", 1)[0].split(b" ", 2)
    if len(line) < 2 or not line[0].startswith(b"HTTP/") or not line[1].isdigit():
        raise UpstreamConnectError(f"proxy {proxy.where} sent a malformed CONNECT response")
    status = int(line[1])
    if status == 407:
        raise UpstreamConnectError(f"proxy {proxy.where} requires authentication (407)")
    if not 200 <= status < 300:
        raise UpstreamConnectError(f"proxy {proxy.where} refused to connect to {route.where} ({status})")


async def _socks5(
    loop: asyncio.AbstractEventLoop, conn: Connection, proxy: Proxy, host: str, port: int
) -> None:
    write = conn.transport.write
    write(b"\x05\x02\x00\x02" if proxy.username else b"\x05\x01\x00")
    version, method = await conn.recv_exact(2)
    if version != 5:
        raise UpstreamConnectError(f"proxy {proxy.where} is not a SOCKS5 proxy")
    if method == 2:
        user, password = proxy.username.encode(), proxy.password.encode()
        if len(user) > 255 or len(password) > 255:
            raise UpstreamConnectError("SOCKS5 credentials are too long")
        write(b"\x01" + bytes((len(user),)) + user + bytes((len(password),)) + password)
        if (await conn.recv_exact(2))[1] != 0:
            raise UpstreamConnectError(f"proxy {proxy.where} rejected the SOCKS5 credentials")
    elif method != 0:
        raise UpstreamConnectError(f"proxy {proxy.where} offers no SOCKS5 auth method we can use")
    write(b"\x05\x01\x00" + await _socks_address(loop, proxy, host) + port.to_bytes(2, "big"))
    _, reply, _, kind = await conn.recv_exact(4)
    if reply != 0:
        reason = _SOCKS_REPLIES.get(reply, f"error {reply}")
        raise UpstreamConnectError(f"proxy {proxy.where} could not reach {host}:{port}: {reason}")
    if kind == 1:
        await conn.recv_exact(4 + 2)
    elif kind == 4:
        await conn.recv_exact(16 + 2)
    elif kind == 3:
        (size,) = await conn.recv_exact(1)
        await conn.recv_exact(size + 2)
    else:
        raise UpstreamConnectError(f"proxy {proxy.where} sent a malformed SOCKS5 reply")


async def _socks_address(loop: asyncio.AbstractEventLoop, proxy: Proxy, host: str) -> bytes:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if proxy.scheme == "socks5h":  # the proxy resolves the name
            name = host.encode("idna")
            return b"\x03" + bytes((len(name),)) + name
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        if not infos:
            raise UpstreamConnectError(f"cannot resolve {host}") from None
        address = ipaddress.ip_address(infos[0][4][0])
    return (b"\x01" if address.version == 4 else b"\x04") + address.packed
