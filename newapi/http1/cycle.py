"""One request and its response on a connection: the ASGI ``receive`` and ``send``.

The request body is whatever the parser has gathered; a small body is usually whole
before the app first asks, so ``receive()`` answers without waiting. After the body,
``receive()`` waits until the client leaves or the response is complete and then says
``http.disconnect``. ``send`` writes straight to the transport: the head goes out with
the first body bytes in one write, a whole response with a ``content-length``, a
streamed one chunked unless the app gave its length. Once the client is gone, sends are
dropped (the app learns of it from ``receive()``, as ASGI has it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, MutableMapping
from typing import TYPE_CHECKING, Any

from newapi.http1.head import date_line, header_block, status_line

if TYPE_CHECKING:
    from newapi.http1.connection import Connection

log = logging.getLogger("newapi.http1")

_DISCONNECT: dict[str, Any] = {"type": "http.disconnect"}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# Request body bytes buffered before the connection stops reading until the app takes them.
_BODY_BUFFER = 1 << 20
# The response headers send() acts on; the others (most) are passed on with one set lookup.
_FRAMING = frozenset((b"content-length", b"connection", b"transfer-encoding"))


class ProtocolError(Exception):
    """The app broke the ASGI protocol (a second start, a body before the start, ...)."""


class Cycle:
    # receive() after the body is a plain future (no task, no thread): the relay's disconnect
    # watch arms it at once instead of through its shared timer (newapi/relay/watch.py).
    cheap_disconnect = True

    __slots__ = (
        "_chunks",
        "_ends",
        "_head",
        "_waiter",
        "body_done",
        "buffered",
        "chunked",
        "complete",
        "conn",
        "delivered",
        "expect_continue",
        "finished",
        "gone",
        "has_length",
        "head_only",
        "http10",
        "keep_alive",
        "remaining",
        "said_close",
        "scope",
        "started",
        "status",
    )

    def __init__(
        self, conn: Connection, scope: dict[str, Any], keep_alive: bool, expect_continue: bool
    ) -> None:
        self.conn = conn
        self.scope = scope
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        self.head_only = scope["method"] == "HEAD"
        self._chunks: list[bytes] = []
        self.buffered = 0
        self.body_done = False  # the parser has the whole body
        self.delivered = False  # the app has the whole body
        self.complete = False  # the response is complete
        self.gone = False  # the client left
        self._waiter: asyncio.Future[None] | None = None
        # receive()'s futures waiting for the client to leave or the response to end.
        self._ends: list[asyncio.Future[dict[str, Any]]] | None = None
        self._head: bytes | None = None
        self.started = False  # the head was written
        self.chunked = False
        self.has_length = False
        self.remaining = -1  # body bytes still due by the app's own content-length (-1: none given)
        self.said_close = False  # the app's head says "connection: close" itself
        self.http10 = scope["http_version"] == "1.0"
        self.finished = False
        self.status = 0

    def ran(self, task: asyncio.Task[None]) -> None:
        """The app's task for this request ended: a failure is logged, then the connection told."""
        if not task.cancelled():
            error = task.exception()
            if error is not None:
                scope = self.scope
                log.error("the app failed on %s %s", scope["method"], scope["path"], exc_info=error)
        self.conn.ran(task)

    # -- from the parser -------------------------------------------------------------

    def feed(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self.buffered += len(chunk)
        if self.buffered > _BODY_BUFFER:
            self.conn.pause_reading()
        self._wake()

    def end_of_body(self) -> None:
        self.body_done = True
        self._wake()

    def client_gone(self) -> None:
        self.gone = True
        self._wake()
        self._end()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _end(self) -> None:
        ends = self._ends
        if ends is not None:
            self._ends = None
            for future in ends:
                if not future.done():
                    future.set_result(_DISCONNECT)

    # -- receive -------------------------------------------------------------------------

    def receive(self) -> Awaitable[dict[str, Any]]:
        if self.delivered or self.gone:
            # A plain future, not a coroutine: the relay's disconnect watch holds this for the
            # whole of a stream, and a coroutine would need a task of its own (bench/README.md,
            # "10,000 open streams on newapi's server"). Each call has its own future, so that a
            # caller cancelling it leaves the others waiting.
            future: asyncio.Future[dict[str, Any]] = self.conn.loop.create_future()
            if self.gone or self.complete:
                future.set_result(_DISCONNECT)
            elif self._ends is None:
                self._ends = [future]
            else:
                self._ends.append(future)
            return future
        return self._request()

    async def _request(self) -> dict[str, Any]:
        while not (self._chunks or self.body_done or self.gone):
            if self.expect_continue:
                self.expect_continue = False
                if not self.started:  # a response under way answers the expectation itself
                    self.conn.write(_CONTINUE)
            self.conn.resume_reading()
            await self._wait()
        if self.gone:
            return _DISCONNECT
        chunks = self._chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        if self.buffered > _BODY_BUFFER:
            self.conn.resume_reading()
        self.buffered = 0
        more = not self.body_done
        if not more:
            self.delivered = True
        return {"type": "http.request", "body": body, "more_body": more}

    def _wait(self) -> asyncio.Future[None]:
        waiter = self._waiter
        if waiter is None:
            waiter = self._waiter = self.conn.loop.create_future()
        return waiter

    # -- send ----------------------------------------------------------------------------

    async def send(self, message: MutableMapping[str, Any]) -> None:
        kind = message["type"]
        if kind == "http.response.body":
            if self._head is None:
                raise ProtocolError("http.response.body before http.response.start")
            if self.finished:
                raise ProtocolError("http.response.body after the response's end")
            body: bytes = message.get("body", b"")
            more: bool = message.get("more_body", False)
            if self.remaining >= 0:
                self._count(len(body), more)
            if not more:
                self.finished = True
            if self.gone:
                return
            conn = self.conn
            if not self.started:
                self.started = True
                conn.write(self._first(body, more))
            elif self.head_only:
                pass
            elif self.chunked:
                if body:
                    end = b"\r\n" if more else b"\r\n0\r\n\r\n"
                    conn.write(b"%x\r\n%b%b" % (len(body), body, end))
                elif not more:
                    conn.write(b"0\r\n\r\n")
            elif body:
                conn.write(body)
            if not more:
                self._done()
            elif conn.paused_writing:
                await conn.drain()
            return
        if kind == "http.response.start":
            if self._head is not None:
                raise ProtocolError("a second http.response.start")
            self.status = status = int(message["status"])
            headers: list[tuple[bytes, bytes]] = list(message.get("headers", ()))
            framed = False
            for name, value in headers:
                lowered = name.lower()
                if lowered not in _FRAMING:
                    continue
                if lowered == b"content-length":
                    self.has_length = True
                    self.remaining = int(value)
                elif lowered == b"connection":
                    if value.lower() == b"close":
                        self.keep_alive = False
                        self.said_close = True
                elif lowered == b"transfer-encoding":
                    framed = True
            if framed:
                # The framing is the server's to choose (and an HTTP/1.0 client cannot read
                # chunks): the app's header is dropped, its body framed as any other.
                headers = [h for h in headers if h[0].lower() != b"transfer-encoding"]
            if status < 200 or status in (204, 304) or self.head_only:
                self.remaining = -1  # no body follows, whatever length the head gives
                if status < 200 or status in (204, 304):
                    self.head_only = True
                    self.has_length = True  # no body and no length of one
            elif self.remaining < -1:
                raise ProtocolError(f"a negative content-length {self.remaining}")
            self._head = status_line(status) + date_line() + header_block(headers)
            return
        raise ProtocolError(f"unexpected ASGI message {kind!r}")

    def _count(self, size: int, more: bool) -> None:
        """Keep the body to the app's ``content-length``: beyond it is refused; a body that
        ends short leaves the client waiting for bytes, so the connection closes after it."""
        remaining = self.remaining - size
        if remaining < 0:
            raise ProtocolError("the response body is longer than its content-length")
        self.remaining = remaining
        if remaining and not more:
            log.warning("the response body ended %d bytes short of its content-length", remaining)
            self.keep_alive = False

    def _first(self, body: bytes, more: bool) -> bytes:
        """The head with the first body bytes: a whole body gets its ``content-length``
        (unless the app gave one), a streamed one without a length goes chunked (to an
        HTTP/1.0 client: as it comes, the connection's end marking the body's)."""
        head = self._head
        assert head is not None
        if self.has_length:
            framing = b"\r\n"
        elif not more:
            framing = b"content-length: %d\r\n\r\n" % len(body)
        elif self.http10:
            self.keep_alive = False
            framing = b"\r\n"
        else:
            self.chunked = True
            framing = b"transfer-encoding: chunked\r\n\r\n"
            if body and not self.head_only:
                body = b"%x\r\n%b\r\n" % (len(body), body)
        if not self.keep_alive:
            if not self.said_close:
                head += b"connection: close\r\n"
        elif self.http10:
            head += b"connection: keep-alive\r\n"
        if self.head_only:
            return head + framing
        return head + framing + body

    def _done(self) -> None:
        self.complete = True
        self._wake()
        self._end()
        self.conn.cycle_done(self)
