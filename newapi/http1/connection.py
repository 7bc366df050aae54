"""One client connection: bytes in through httptools' parser, one :class:`Cycle` per request.

Everything happens on the worker's event loop: the parser's callbacks build the ASGI scope,
the app runs as a task, its ``send`` writes to the transport. Requests pipelined behind the
one in flight wait their turn (reading stops meanwhile); a connection the server is not
serving yet (over ``max_connections``) is accepted but not read; a new connection's first
request waits for a turn of the loop with room for it (``newapi.http1.first_requests``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote

import httptools

from newapi.http1.cycle import Cycle
from newapi.http1.first_requests import Queued
from newapi.http1.head import date_line

if TYPE_CHECKING:
    from newapi.http1.listener import Worker

log = logging.getLogger("newapi.http1")

_ASGI = {"version": "3.0", "spec_version": "2.3"}
_SCHEME = "http"
# The methods' names as str, looked up instead of decoded a request (llhttp knows only its list).
_METHODS = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")}


def _error_response(status: int, reason: bytes) -> bytes:
    body = reason + b"\n"
    return (
        b"HTTP/1.1 %d %b\r\n%bcontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
        b"connection: close\r\n\r\n%b" % (status, reason, date_line(), len(body), body)
    )


class _TooLarge(Exception):
    pass


class Upgraded(Protocol):
    """What an upgraded connection's bytes and end go to (the WebSocket session)."""

    def data_received(self, data: bytes) -> None: ...

    def connection_lost(self, exc: Exception | None) -> None: ...


class _Holding:
    """Where a held connection's bytes go (one accepted over ``max_connections``): uvloop starts
    reading after ``connection_made`` even when that paused it, so the first chunk may still
    come; it waits here, reading paused again, until the worker serves the connection. Held
    this way, the HTTP path pays nothing for it (``data_received`` already asks ``upgraded``)."""

    __slots__ = ("chunks", "transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.chunks: list[bytes] = []

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.transport.pause_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        pass


class Connection(asyncio.Protocol):
    __slots__ = (
        "_head_bytes",
        "_head_raw",
        "_headers",
        "_pending",
        "_url",
        "admitted",
        "client",
        "cycle",
        "drain_waiter",
        "loop",
        "parser",
        "parsing",
        "paused_reading",
        "paused_writing",
        "server",
        "since",
        "task",
        "transport",
        "upgraded",
        "worker",
    )

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.loop = worker.loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_bytes = 0  # the head's bytes the callbacks have seen (0: not in a head)
        self._head_raw = 0  # bytes of chunks that began and ended inside the head
        self.cycle: Cycle | None = None  # the request being answered
        self.parsing: Cycle | None = None  # the request whose body the parser is reading
        self._pending: deque[Cycle] = deque()
        self.task: asyncio.Task[None] | None = None
        self.paused_reading = False
        self.paused_writing = False
        self.drain_waiter: asyncio.Future[None] | None = None
        # When the connection last had no request in flight (opened, or its last response ended):
        # the sweep's clock. Waiting for a head and reading it share the header timeout, as in
        # hyper (Granian); set at those moments, not per chunk, so a head trickling in a byte at
        # a time still times out.
        self.since = time.monotonic()
        self.client: tuple[str, int] | None = None
        self.server: tuple[str, int] | None = None
        # After a WebSocket upgrade: what the bytes go to instead of the HTTP parser.
        self.upgraded: Upgraded | None = None
        # Whether the connection's first bytes were let through to the parser: until then they
        # wait for a turn of the loop with room for a new request (newapi.http1.first_requests).
        self.admitted = False

    # -- the transport -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's TCPTransport
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.client = (str(peer[0]), int(peer[1]))
        local = transport.get_extra_info("sockname")
        if isinstance(local, tuple):
            self.server = (str(local[0]), int(local[1]))
        self.worker.opened(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.worker.closed(self)
        if self.upgraded is not None:
            self.upgraded.connection_lost(exc)
        for cycle in (self.cycle, *self._pending):
            if cycle is not None:
                cycle.client_gone()
        if self.parsing is not None and self.parsing is not self.cycle:
            self.parsing.client_gone()
        self._pending.clear()
        waiter = self.drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        # The parser's callbacks are this connection's bound methods: a reference cycle that
        # only the cyclic collector frees, and under the workers' gen-0 threshold of 20,000 the
        # garbage of some 650 closed connections (about 10 KB each) piled up before it ran.
        # Broken here, a closed connection is freed at once. Nothing feeds it after this.
        self.parser = None  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.upgraded is not None:
            self.upgraded.data_received(data)
            return
        if not self.admitted and not self.worker.first_requests.admit(self, data):
            return
        in_head = self._head_bytes and self.parsing is None
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            # The exception carries where the request's head ends in ``data``.
            self._upgrade(data[upgrade.args[0] :])
            return
        except httptools.HttpParserCallbackError as error:
            if isinstance(error.__context__, _TooLarge):
                self._refuse(431, b"Request Header Fields Too Large")
            else:
                log.exception("http1: parser callback failed")
                self._refuse(400, b"Bad Request")
            return
        except httptools.HttpParserError:
            self._refuse(400, b"Bad Request")
            return
        if in_head and self._head_bytes and self.parsing is None:
            # A whole chunk inside one head: httptools holds a header's name and value until the
            # next header begins, unseen by on_header, so an endless value is counted here.
            self._head_raw += len(data)
            if self._head_raw > self.worker.max_head_bytes:
                self._refuse(431, b"Request Header Fields Too Large")

    def pause_writing(self) -> None:
        self.paused_writing = True

    def resume_writing(self) -> None:
        self.paused_writing = False
        waiter = self.drain_waiter
        if waiter is not None:
            self.drain_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def drain(self) -> asyncio.Future[None]:
        waiter = self.drain_waiter
        if waiter is None:
            waiter = self.drain_waiter = self.loop.create_future()
        return waiter

    def write(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def pause_reading(self) -> None:
        if not self.paused_reading and self.transport is not None:
            self.paused_reading = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.paused_reading and self.transport is not None and not self.worker.holding(self):
            self.paused_reading = False
            self.transport.resume_reading()

    def hold(self) -> None:
        """Accepted but not served yet (backpressure): nothing is read or parsed."""
        assert self.transport is not None
        self.upgraded = _Holding(self.transport)
        self.pause_reading()

    def release(self) -> None:
        """Served at last: the header timeout starts now; bytes that came meanwhile are parsed."""
        holding = self.upgraded
        self.upgraded = None
        self.since = time.monotonic()
        self.resume_reading()
        if isinstance(holding, _Holding) and holding.chunks:
            self.data_received(b"".join(holding.chunks))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    @property
    def idle(self) -> bool:
        """No request in flight and none being read (an upgraded connection is never idle:
        its session decides when it ends)."""
        return self.upgraded is None and self.cycle is None and self.parsing is None and not self._head_bytes

    @property
    def waiting(self) -> bool:
        """Idle or reading a head (or its first head waiting for its turn), no request in flight,
        not upgraded: what the header timeout bounds."""
        upgraded = self.upgraded
        return (upgraded is None or type(upgraded) is Queued) and self.cycle is None and self.parsing is None

    def _refuse(self, status: int, reason: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        cycle = self.cycle
        if cycle is None:
            # No response of ours is under way on this connection: the client gets the reason.
            transport.write(_error_response(status, reason))
        elif cycle is self.parsing:
            if not cycle.started:
                # The body of the request in flight is malformed: the app hears the client
                # left (its answer is dropped) and the client gets the reason.
                cycle.client_gone()
                transport.write(_error_response(status, reason))
        else:
            # The bad bytes come after the requests read so far (llhttp refuses any byte after
            # a "connection: close" request): those are answered, then the connection closes.
            broken = self.parsing
            if broken is not None and broken in self._pending:
                self._pending.remove(broken)  # its body will never be whole
                self.parsing = None
            last = self._pending[-1] if self._pending else cycle
            last.keep_alive = False
            self.pause_reading()
            return
        transport.close()

    def _upgrade(self, rest: bytes) -> None:
        cycle = self.parsing
        self.parsing = None
        self._head_bytes = 0
        if cycle is None or self.cycle is not None:
            self._refuse(400, b"Bad Request")
            return
        self.worker.upgrade(self, cycle.scope, rest)

    # -- the parser's callbacks ----------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._head_bytes = 1
        self._head_raw = 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_bytes += len(url)
        if self._head_bytes > self.worker.max_head_bytes:
            raise _TooLarge

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > self.worker.max_head_bytes:
            raise _TooLarge
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        parser = self.parser
        raw = self._url
        query = b""
        mark = raw.find(b"?")
        if mark >= 0:
            raw, query = raw[:mark], raw[mark + 1 :]
        if raw[:1] != b"/":
            # An absolute form (a proxy request) or "*": only the path matters to the app.
            if raw == b"*":
                raw = b"*"
            else:
                parsed = httptools.parse_url(self._url)
                raw = parsed.path or b"/"
                query = parsed.query or b""
        # find, not ``in``: bytes' ``in`` first tries its operand as an int and formats the
        # TypeError that fails (~1.8k instructions a request on CPython 3.11).
        path = raw.decode("latin-1") if raw.find(b"%") < 0 else unquote(raw.decode("latin-1"))
        raw_method = parser.get_method()
        method = _METHODS.get(raw_method) or raw_method.decode("ascii")
        headers = self._headers
        # Trailers of a chunked body would otherwise be appended to the scope's headers.
        self._headers = []
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": parser.get_http_version(),
            "server": self.server,
            "client": self.client,
            "scheme": _SCHEME,
            "method": method,
            "root_path": "",
            "path": path,
            "raw_path": raw,
            "query_string": query,
            "headers": headers,
        }
        expect = False
        for name, value in headers:
            if name == b"expect" and value.lower() == b"100-continue":
                expect = True
                break
        if parser.should_upgrade():
            self.parsing = Cycle(self, scope, False, False)
            return
        cycle = Cycle(self, scope, parser.should_keep_alive(), expect)
        self.parsing = cycle
        if self.cycle is None:
            self._start(cycle)
        else:
            self._pending.append(cycle)
            self.pause_reading()

    def on_body(self, body: bytes) -> None:
        cycle = self.parsing
        if cycle is not None:
            cycle.feed(body)

    def on_message_complete(self) -> None:
        if self.parser.should_upgrade():
            return  # httptools raises HttpParserUpgrade next: _upgrade takes the request
        cycle = self.parsing
        self.parsing = None
        self._head_bytes = 0
        if cycle is not None:
            cycle.end_of_body()

    # -- running requests ----------------------------------------------------------------

    def _start(self, cycle: Cycle) -> None:
        self.cycle = cycle
        # The app's own coroutine is the task's (no wrapper coroutine: one frame less at each of
        # its resumptions); the cycle logs a failure when the task ends (Cycle.ran).
        app = self.worker.app(cycle.scope, cycle.receive, cycle.send)
        task = self.task = self.loop.create_task(app)  # type: ignore[arg-type]  # an async def's coroutine
        task.add_done_callback(cycle.ran)

    def ran(self, task: asyncio.Task[None]) -> None:
        """A request's task ended (after its cycle logged a failure, if any)."""
        cycle = self.cycle
        if cycle is None or self.task is not task:
            return
        if not cycle.finished:
            # The app ended without finishing its response: a 500 if nothing went out, else cut.
            if not cycle.started and not cycle.gone:
                self.write(_error_response(500, b"Internal Server Error"))
            self.close()
            self.cycle = None
            self.task = None
            return
        self.task = None

    def cycle_done(self, cycle: Cycle) -> None:
        """The response's last bytes are out: the next pipelined request, or wait, or close."""
        if cycle is not self.cycle:
            return
        self.cycle = None
        self.since = time.monotonic()
        if not cycle.keep_alive or not cycle.body_done or self.worker.stopping:
            # A body the app did not read to its end would be parsed as the next request.
            self.close()
            return
        if self._pending:
            self._start(self._pending.popleft())
        if not self._pending:
            self.resume_reading()
