"""One HTTP/1.1 connection: an ``asyncio.Protocol`` feeding ``httptools``, with lazy timers.

Per-response state lives here (the response object is a thin view) so the parser, created
once per connection, can keep calling the same bound methods across keep-alive requests.

Timeouts cost one ``TimerHandle`` per connection, not per chunk: activity only stores a
timestamp, and when the timer fires it either fails the response or re-arms itself for the
next moment something could be late. A timer left over from an earlier request is reused
when it fires no later than the new request needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import httptools

from newapi.core.errors import UpstreamConnectError, UpstreamError, UpstreamProtocolError, UpstreamTimeout

if TYPE_CHECKING:
    from newapi.upstream._route import Route

_INF = float("inf")


class Connection(asyncio.Protocol):
    """Attributes without a leading underscore are shared with the client and the response."""

    __slots__ = (
        "_deadline",
        "_first_byte_by",
        "_first_byte_timeout",
        "_high_water",
        "_informational",
        "_keepalive",
        "_last_activity",
        "_no_body",
        "_on_lost",
        "_read_timeout",
        "_timer",
        "_timer_at",
        "_total_timeout",
        "_waiter",
        "_write_paused",
        "active",
        "buffered",
        "chunks",
        "closed",
        "complete",
        "error",
        "got_byte",
        "headers",
        "headers_done",
        "idle_since",
        "loop",
        "lost_early",
        "parser",
        "paused",
        "raw",
        "reused",
        "route",
        "status",
        "transport",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        route: Route,
        high_water: int,
        on_lost: Callable[[Connection], None],
    ) -> None:
        self.loop = loop
        self.route = route
        self._high_water = high_water
        self._on_lost = on_lost
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set by connection_made
        self.parser = httptools.HttpResponseParser(self)
        self.raw: bytearray | None = None  # proxy handshakes read raw bytes here
        self.closed = False
        self.active = False
        self.reused = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = _INF
        self._write_paused = False
        self._last_activity = 0.0
        self.begin(False, _INF, None, None, None)

    # -- per-request state -------------------------------------------------------------------

    def begin(
        self,
        no_body: bool,
        deadline: float,
        total: float | None,
        read_timeout: float | None,
        first_byte: float | None,
    ) -> None:
        """Reset for a new request; ``deadline`` is absolute loop time (inf for none)."""
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_done = False
        self.complete = False
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.paused = False
        self.got_byte = False
        self.lost_early = False
        self.error: UpstreamError | None = None
        self._no_body = no_body
        self._informational = False
        self._keepalive = True
        self._read_timeout = read_timeout
        self._total_timeout = total
        self._first_byte_timeout = first_byte if first_byte is not None else read_timeout
        self._first_byte_by = _INF
        self._deadline = deadline
        if deadline != _INF:
            self.arm(deadline)

    def request_sent(self) -> None:
        """The whole request is out: the first-byte clock starts now."""
        if self._first_byte_timeout is not None:
            self._first_byte_by = self.loop.time() + self._first_byte_timeout
            self.arm(self._first_byte_by)

    @property
    def reusable(self) -> bool:
        return self.complete and self._keepalive and self.error is None and not self.closed

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.raw is not None:
            self.raw += data
            self.wake()
            return
        if not self.active or self.complete:
            # Bytes nobody asked for: the connection's framing can no longer be trusted.
            self.abort()
            return
        self.got_byte = True
        self._last_activity = self.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.fail(UpstreamProtocolError("upstream switched protocols unexpectedly"))
        except httptools.HttpParserError as exc:
            self.fail(UpstreamProtocolError(f"malformed upstream response: {exc}"))

    def eof_received(self) -> bool | None:
        return None  # close; connection_lost decides what the EOF meant

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.raw is not None:
            self.error = UpstreamConnectError("proxy closed the connection during the handshake")
        elif self.active and not self.complete and self.error is None:
            if self.headers_done and self._close_delimited():
                self.complete = True
                self._keepalive = False
            elif not self.got_byte:
                self.lost_early = True
                self.error = UpstreamConnectError("upstream closed the connection before responding")
            elif not self.headers_done:
                self.error = UpstreamProtocolError("upstream closed the connection mid-headers")
            else:
                self.error = UpstreamProtocolError("upstream closed the connection mid-body")
        self.wake()
        self._on_lost(self)
        # The parser calls back into this connection's bound methods: a reference cycle left for
        # the cyclic collector, which the workers run rarely (gen-0 threshold 20,000). Broken
        # here, a closed connection is freed at once. Nothing feeds the parser after this.
        self.parser = None  # type: ignore[assignment]

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self.wake()

    # -- httptools callbacks -------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200 and status != 101:
            self._informational = True  # 1xx: its own message; the real one follows
            self.headers = []
            return
        self.status = status
        self.headers_done = True
        if self._no_body:
            # A HEAD response announces a body it does not send; llhttp cannot know that, so the
            # parser's framing is now wrong and the connection is not reused.
            self.complete = True
            self._keepalive = False
        self.wake()

    def on_body(self, body: bytes) -> None:
        if self._no_body:
            return
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > self._high_water and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        waiter = self._waiter  # wake(), inlined: this runs once per received chunk
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self.complete = True
        self._keepalive = self.parser.should_keep_alive()
        self.wake()

    # -- waiting -------------------------------------------------------------------------------

    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def event(self) -> asyncio.Future[None]:
        """A future resolved when something happens; the awaiting side aborts on cancellation."""
        waiter = self._waiter = self.loop.create_future()
        return waiter

    async def wait(self) -> None:
        """Sleep until something happens on the connection; cancellation drops the socket."""
        waiter = self._waiter = self.loop.create_future()
        try:
            await waiter
        except BaseException:
            self._waiter = None
            self.abort()
            raise

    async def drain(self) -> None:
        while self._write_paused and not self.closed:
            await self.wait()
        if self.error is not None:
            raise self.error
        if self.closed:
            self.lost_early = not self.got_byte
            raise UpstreamConnectError("upstream closed the connection while the request was sent")

    def take(self) -> bytes:
        """Everything buffered, as one bytes."""
        chunks = self.chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)  # b"" when empty
        chunks.clear()
        self.buffered = 0
        if self.paused:
            self._resume()
        return data

    def take_into(self, parts: list[bytes]) -> int:
        """Move everything buffered onto ``parts``; returns how many bytes that was."""
        size = self.buffered
        parts += self.chunks
        self.chunks.clear()
        self.buffered = 0
        if self.paused:
            self._resume()
        return size

    def _resume(self) -> None:
        self.paused = False
        self._last_activity = self.loop.time()
        if not self.closed:
            self.transport.resume_reading()
            if self._read_timeout is not None and not self.complete:
                self.arm(self._last_activity + self._read_timeout)

    async def recv_exact(self, size: int) -> bytes:
        """Raw mode (proxy handshakes): exactly ``size`` bytes."""
        raw = self.raw
        assert raw is not None
        while len(raw) < size:
            self._check_open()
            await self.wait()
        data = bytes(raw[:size])
        del raw[:size]
        return data

    async def recv_head(self, limit: int = 16384) -> bytes:
        """Raw mode: everything up to and including the blank line ending an HTTP head."""
        raw = self.raw
        assert raw is not None
        while (end := raw.find(b"\r\n\r\n")) < 0:
            if len(raw) > limit:
                raise UpstreamConnectError("proxy sent an oversized response head")
            self._check_open()
            await self.wait()
        data = bytes(raw[: end + 4])
        del raw[: end + 4]
        return data

    def _check_open(self) -> None:
        if self.closed:
            raise self.error or UpstreamConnectError("proxy closed the connection during the handshake")

    # -- failure and timers --------------------------------------------------------------------

    def fail(self, error: UpstreamError) -> None:
        if self.error is None:
            self.error = error
        self.abort()
        self.wake()

    def abort(self) -> None:
        self._keepalive = False
        if not self.closed:
            self.closed = True
            self.transport.abort()

    def _close_delimited(self) -> bool:
        for name, value in self.headers:
            if name == b"content-length" or (name == b"transfer-encoding" and b"chunked" in value.lower()):
                return False
        return True

    def arm(self, at: float) -> None:
        timer = self._timer
        if timer is not None:
            if self._timer_at <= at:
                return  # fires first and re-arms for whatever is due then
            timer.cancel()
        self._timer_at = at
        self._timer = self.loop.call_at(at, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = _INF
        if not self.active or self.complete or self.error is not None:
            return
        now = self.loop.time()
        if now >= self._deadline:
            self.fail(UpstreamTimeout(f"upstream did not finish within {self._total_timeout:.3g}s"))
            return
        due = _INF
        if not self.headers_done:
            due = self._first_byte_by
            if now >= due:
                self.fail(
                    UpstreamTimeout(f"upstream sent no response within {self._first_byte_timeout:.3g}s")
                )
                return
        elif self._read_timeout is not None and not self.paused:
            due = self._last_activity + self._read_timeout
            if now >= due:
                self.fail(UpstreamTimeout(f"upstream sent nothing for {self._read_timeout:.3g}s"))
                return
        due = min(due, self._deadline)
        if due != _INF:
            self.arm(due)
