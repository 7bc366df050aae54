"""The relay's upstream HTTP/1.1 client: keep-alive pools, proxies, lazy timeouts.

One instance per worker, built at startup. A request costs a dict lookup for its URL, one
``bytes.join`` for the head (and a small body), one ``transport.write`` and one future for
the response head; the body is read straight from the parser's callbacks.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterable, Sequence

from newapi.core.errors import UpstreamConnectError, UpstreamError, UpstreamProtocolError, UpstreamTimeout
from newapi.upstream._connection import Connection
from newapi.upstream._establish import open_connection
from newapi.upstream._route import Route, encode_target, make_route, split_url
from newapi.upstream.response import UpstreamResponse

Body = bytes | AsyncIterable[bytes] | None

_INF = float("inf")
_MANAGED = frozenset((b"host", b"content-length", b"connection", b"transfer-encoding"))
_NEEDS_LENGTH = frozenset(("POST", "PUT", "PATCH"))
_BAD_TARGET = re.compile(rb"[\x00-\x20\x7f]")
# RFC 9110: a header name is a token; a value has no control character but tab. Anything else
# would break the head's framing, or make a strict server refuse it while leaving the body in
# the stream, where it would be read as the next request on this pooled connection.
_TCHAR = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CTL = bytes(c for c in range(0x20) if c != 0x09) + b"\x7f"
# Bodies up to this size ride in the same write (and the same bytes object) as the head.
_INLINE_BODY = 64 * 1024
_URL_CACHE = 4096
_CHECKED_LINES = 1024

#: a header list rendered: its lines joined, its Host line (None: the route's), its declared
#: Content-Length, and whether every pair was plain bytes in a tuple (only then is it kept)
_Block = tuple[bytes, bytes | None, bytes | None, bool]


class _Upload:
    """An async-iterable request body, and whether any of it has been pulled yet."""

    __slots__ = ("chunked", "length", "source", "started")

    def __init__(self, source: AsyncIterable[bytes], length: int | None) -> None:
        self.source = source
        self.length = length
        self.chunked = length is None
        self.started = False


class UpstreamClient:
    """HTTP/1.1 client for upstream providers, pooling keep-alive connections per route.

    Routes are (scheme, host, port, proxy). Idle connections are bounded per route and in
    total, expire after ``idle_keepalive`` seconds, and are dropped as soon as the peer closes
    them. A reused connection that dies before any response byte is retried once on another.
    """

    def __init__(
        self,
        *,
        max_idle_per_host: int = 100,
        max_idle_total: int = 500,
        idle_keepalive: float = 90.0,
        connect_timeout: float = 10.0,
        tls_verify: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        read_buffer_limit: int = 256 * 1024,
    ) -> None:
        """``ssl_context`` replaces the default one (tests, private CAs); ``read_buffer_limit`` is how
        many received but unread body bytes pause reading from the upstream socket."""
        self._max_idle_per_host = max_idle_per_host
        self._max_idle_total = max_idle_total
        self._keepalive = idle_keepalive
        self._connect_timeout = connect_timeout
        self._high_water = read_buffer_limit
        self._ssl = ssl_context or _make_context(tls_verify)
        self._routes: dict[tuple[str, str], Route] = {}  # (origin, proxy) -> route and its idle pool
        self._urls: dict[tuple[str, str], tuple[Route, bytes]] = {}  # (url, proxy) -> route, target
        self._checked: dict[object, bytes] = {}  # header lines found valid (see _build_head)
        self._blocks: dict[object, _Block] = {}  # whole header lists found valid, rendered
        self._conns: set[Connection] = set()
        self._idle_total = 0
        self._sweeper: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    async def request(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[bytes, bytes]],
        body: Body = None,
        *,
        proxy: str = "",
        total_timeout: float | None = None,
        read_timeout: float | None = None,
        first_byte_timeout: float | None = None,
    ) -> UpstreamResponse:
        """Send a request and return once the status line and headers have arrived.

        ``Host``, ``Content-Length`` (or chunked framing) and ``Connection`` are added here; those
        names in ``headers`` are ignored, except ``Host`` (which replaces ours) and, for an
        async-iterable ``body``, ``Content-Length`` (which is then sent instead of chunked framing).
        ``first_byte_timeout`` defaults to ``read_timeout``; ``total_timeout`` covers connecting
        and the whole body. Retries once, only when a reused connection dies before any byte.
        """
        if self._closed:
            raise UpstreamConnectError("upstream client is closed")
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        resolved = self._urls.get((url, proxy))
        if resolved is None:
            resolved = self._resolve(url, proxy)
        route, target = resolved
        head, tail, upload = _build_head(method, route, target, headers, body, self._checked, self._blocks)
        deadline = loop.time() + total_timeout if total_timeout is not None else _INF
        for attempt in (0, 1):
            conn = self._acquire(route)
            if conn is None:
                conn = await self._connect(loop, route, deadline)
            conn.active = True
            conn.begin(method == "HEAD", deadline, total_timeout, read_timeout, first_byte_timeout)
            try:
                if upload is None:
                    try:
                        conn.transport.write(head)
                        if tail is not None:
                            conn.transport.write(tail)
                    except (OSError, RuntimeError) as exc:  # the transport closed under us
                        conn.lost_early = True
                        raise UpstreamConnectError(
                            f"connection to {route.where} failed while sending"
                        ) from exc
                else:
                    await _send_upload(conn, head, upload)
                conn.request_sent()
                while not conn.headers_done:
                    if conn.error is not None:
                        raise conn.error
                    await conn.event()
            except UpstreamError:
                self._release(conn)
                if attempt == 0 and _may_retry(conn, upload):
                    continue
                raise
            except BaseException:
                self._release(conn)
                raise
            return UpstreamResponse(conn, self._release)
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        """Close every connection, idle or busy; the client refuses requests afterwards."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for route in self._routes.values():
            route.idle.clear()
        self._idle_total = 0
        for conn in list(self._conns):
            conn.abort()
        if self._conns:
            await asyncio.sleep(0)  # let connection_lost callbacks run

    def _resolve(self, url: str, proxy: str) -> tuple[Route, bytes]:
        origin, target = split_url(url)
        route = self._routes.get((origin, proxy))
        if route is None:
            route = self._routes[(origin, proxy)] = make_route(origin, proxy)
        raw_target = encode_target(target)
        if _BAD_TARGET.search(raw_target):
            raise UpstreamProtocolError("request target contains spaces or control characters")
        if len(self._urls) >= _URL_CACHE:
            self._urls.clear()  # URLs with varying query strings must not grow this without bound
        self._urls[(url, proxy)] = resolved = (route, raw_target)
        return resolved

    # -- pool ----------------------------------------------------------------------------------

    def _acquire(self, route: Route) -> Connection | None:
        idle = route.idle
        while idle:
            conn = idle.pop()
            self._idle_total -= 1
            if conn.closed:
                continue
            if conn.loop.time() - conn.idle_since > self._keepalive:
                conn.abort()
                continue
            return conn
        return None

    def _release(self, conn: Connection) -> None:
        conn.active = False
        # conn.reusable spelled out: a property read is ~1k instructions on 3.11, once a request.
        if conn.complete and conn._keepalive and conn.error is None and not conn.closed and not self._closed:
            idle = conn.route.idle
            if len(idle) < self._max_idle_per_host and self._idle_total < self._max_idle_total:
                if conn.paused:
                    conn.paused = False
                    conn.transport.resume_reading()  # an idle socket must still notice EOF
                conn.chunks.clear()
                conn.reused = True
                conn.idle_since = conn.loop.time()
                idle.append(conn)
                self._idle_total += 1
                if self._sweeper is None:
                    self._sweeper = conn.loop.call_later(self._keepalive / 2, self._sweep)
                return
        conn.abort()

    def _forget(self, conn: Connection) -> None:
        """connection_lost: an idle connection closed by the peer leaves the pool at once."""
        self._conns.discard(conn)
        if not conn.active:
            try:
                conn.route.idle.remove(conn)
            except ValueError:
                return
            self._idle_total -= 1

    def _sweep(self) -> None:
        self._sweeper = None
        if self._loop is None:
            return
        expired = self._loop.time() - self._keepalive
        for route in self._routes.values():
            idle = route.idle
            while idle and idle[0].idle_since <= expired:  # the stack's bottom is the oldest
                self._idle_total -= 1
                idle.pop(0).abort()
        if self._idle_total > 0:
            self._sweeper = self._loop.call_later(self._keepalive / 2, self._sweep)

    async def _connect(self, loop: asyncio.AbstractEventLoop, route: Route, deadline: float) -> Connection:
        timeout = max(0.0, min(self._connect_timeout, deadline - loop.time()))
        where = route.where if route.proxy is None else f"{route.where} via proxy {route.proxy.where}"

        def factory() -> Connection:
            return Connection(loop, route, self._high_water, self._forget)

        try:
            async with asyncio.timeout(timeout):
                conn = await open_connection(loop, route, factory, self._ssl)
        except TimeoutError as exc:
            raise UpstreamTimeout(f"connecting to {where} timed out after {timeout:.3g}s") from exc
        except UpstreamError:
            raise
        except (OSError, ValueError, UnicodeError) as exc:  # ssl.SSLError is an OSError
            raise UpstreamConnectError(f"cannot connect to {where}: {_describe(exc)}") from exc
        if conn.closed:  # lost during the handshake's last moments
            raise UpstreamConnectError(f"cannot connect to {where}: connection closed")
        self._conns.add(conn)
        return conn


def _build_head(
    method: str,
    route: Route,
    target: bytes,
    headers: Sequence[tuple[bytes, bytes]],
    body: Body,
    checked: dict[object, bytes],
    blocks: dict[object, _Block],
) -> tuple[bytes, bytes | None, _Upload | None]:
    """``(head, separate body or None, upload or None)``; small bodies are joined into the head.

    ``checked`` holds the lines already found valid, by their (name, value) pair (Host lines by
    themselves): a channel's headers are the same request after request, and checking them
    again cost three ``bytes.translate`` calls a request (each fills a 256-entry table first:
    ~5k instructions in all, bench/README.md, "Instructions per chat request"). ``blocks`` holds
    whole header lists found valid, by the tuple of their pairs, joined, with the Host line and
    Content-Length they carried: one hash of the list instead of a lookup and an append a line."""
    try:
        key: object = tuple(headers)
        found = blocks.get(key)
    except TypeError:  # a pair or a part not hashable (a list, a bytearray): checked every time
        key, found = None, None
    if found is None:
        found = _render_lines(headers, checked)
        if key is not None and found[3]:
            if len(blocks) >= _CHECKED_LINES:
                blocks.clear()  # lists that vary per request must not grow this without bound
            blocks[key] = found
    lines, host_line, declared, _plain = found
    if host_line is None:
        host_line = route.host_line
    if host_line not in checked:
        if len(host_line) - len(host_line.translate(None, _CTL)) != 2:
            raise UpstreamProtocolError("a request header is not valid HTTP")
        _remember(checked, host_line, host_line)
    upload: _Upload | None = None
    tail: bytes | None = None
    if body is None:
        framing = b"Content-Length: 0\r\n" if method in _NEEDS_LENGTH else b""
    elif isinstance(body, bytes | bytearray | memoryview):
        framing = b"Content-Length: %d\r\n" % len(body)
        tail = bytes(body) if not isinstance(body, bytes) else body
    else:
        length = int(declared) if declared is not None and declared.strip().isdigit() else None
        upload = _Upload(body, length)
        framing = b"Transfer-Encoding: chunked\r\n" if length is None else b"Content-Length: %d\r\n" % length
    parts = [
        method.encode("ascii"),
        b" ",
        route.absolute_form + target,
        b" HTTP/1.1\r\n",
        host_line,
        route.extra_head,
        lines,
        framing,
        b"Connection: keep-alive\r\n\r\n",
    ]
    if tail is not None and len(tail) <= _INLINE_BODY:
        parts.append(tail)
        tail = None
    return b"".join(parts), tail, upload


def _render_lines(headers: Sequence[tuple[bytes, bytes]], checked: dict[object, bytes]) -> _Block:
    """The lines of ``headers`` joined, the Host line one of them replaces ours with, the
    Content-Length one declares, and whether every pair was a tuple of two bytes (kept whole)."""
    host_line: bytes | None = None
    declared: bytes | None = None
    lines: list[bytes] = []
    plain = True
    for pair in headers:
        try:
            line = checked.get(pair)
        except TypeError:  # not hashable (a list, a bytearray): checked every time
            line = None
        if line is None:
            name, value = pair
            if not (type(pair) is tuple and type(name) is bytes and type(value) is bytes):
                plain = False
            lower = name.lower()
            if lower in _MANAGED:
                if lower == b"host":
                    host_line = b"Host: " + value + b"\r\n"
                elif lower == b"content-length":
                    declared = value
                continue
            line = name + b": " + value + b"\r\n"
            # Exactly two control bytes of ours (CR LF); any other is in the name or the value.
            if not name or name.translate(None, _TCHAR) or len(line) - len(line.translate(None, _CTL)) != 2:
                raise UpstreamProtocolError("a request header is not valid HTTP")  # never echo the value
            if plain:
                _remember(checked, pair, line)
        lines.append(line)
    return b"".join(lines), host_line, declared, plain


def _remember(checked: dict[object, bytes], key: object, line: bytes) -> None:
    if len(checked) >= _CHECKED_LINES:
        checked.clear()  # values that vary per request must not grow this without bound
    checked[key] = line


def _may_retry(conn: Connection, upload: _Upload | None) -> bool:
    """Only a reused connection that died before any response byte, with the body still replayable."""
    return conn.lost_early and conn.reused and (upload is None or not upload.started)


async def _send_upload(conn: Connection, head: bytes, upload: _Upload) -> None:
    transport = conn.transport

    def write(data: bytes) -> None:
        try:
            transport.write(data)
        except (OSError, RuntimeError) as exc:  # the transport closed under us
            conn.lost_early = not conn.got_byte
            raise UpstreamConnectError("upstream connection failed while the request was sent") from exc

    write(head)
    sent = 0
    async for chunk in upload.source:
        upload.started = True
        if not chunk:
            continue
        sent += len(chunk)
        if upload.chunked:
            write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        else:
            write(chunk)
        await conn.drain()
    if upload.chunked:
        write(b"0\r\n\r\n")
    elif sent != upload.length:
        conn.abort()
        raise UpstreamProtocolError("request body length does not match its content-length")
    await conn.drain()


def _make_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:  # TLS_INSECURE_SKIP_VERIFY
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
